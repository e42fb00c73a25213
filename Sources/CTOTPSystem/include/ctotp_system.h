#ifndef CTOTP_SYSTEM_H
#define CTOTP_SYSTEM_H
#include <sys/types.h>

/* setfsuid(2) and setfsgid(2): <sys/fsuid.h> is not part of Swift's Glibc module. They change only
   the identity used for file access, and only for the calling thread, which is what a module inside a
   (possibly threaded) server needs to open a file in a user's home with that user's privileges.
   Each returns the previous value. */
int ctotp_setfsuid(uid_t uid);
int ctotp_setfsgid(gid_t gid);

/* fcntl(fd, F_OFD_SETLKW) on the whole file for writing: F_OFD_SETLKW needs _GNU_SOURCE, which
   Swift's Glibc module is not built with. Returns fcntl's result; errno is set on -1. */
int ctotp_lock_exclusive(int fd);

/* getrandom(2): <sys/random.h> is not part of Swift's Glibc module. Fills buffer with length random
   bytes from the kernel (blocking only before the pool is initialised); returns the count, or -1. */
long ctotp_getrandom(void *buffer, unsigned long length);

#endif
