#define _GNU_SOURCE
#include "ctotp_system.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/random.h>

int ctotp_errno(void) { return errno; }

int ctotp_openat(int directory, const char *path, int flags, mode_t mode) { return openat(directory, path, flags, mode); }

int ctotp_setfsuid(uid_t uid) { return setfsuid(uid); }
int ctotp_setfsgid(gid_t gid) { return setfsgid(gid); }

int ctotp_lock_exclusive(int fd) {
    struct flock lock;
    memset(&lock, 0, sizeof lock);
    lock.l_type = F_WRLCK;
    lock.l_whence = SEEK_SET;
    return fcntl(fd, F_OFD_SETLKW, &lock);
}

long ctotp_getrandom(void *buffer, unsigned long length) { return (long)getrandom(buffer, length, 0); }
