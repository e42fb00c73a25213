#ifndef CTOTP_SYSTEM_H
#define CTOTP_SYSTEM_H

/* The C library as the module's Swift code sees it. The module is built in Embedded Swift, which has
   no Glibc module, so every C function and constant it uses is declared here, from the system's own
   headers; the setup tool and the tests compile the same Swift files in full Swift, where these
   headers resolve to the same declarations. What Swift cannot import (macros such as errno, and
   variadic functions such as openat and fcntl) is wrapped below, each wrapper saying why. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/* errno is a macro (a thread-local lvalue), which Swift cannot import. */
int ctotp_errno(void);

/* openat(2) is variadic (the mode is read only with O_CREAT), which Swift cannot call. */
int ctotp_openat(int directory, const char *path, int flags, mode_t mode);

/* setfsuid(2) and setfsgid(2): <sys/fsuid.h> is not part of Swift's Glibc module. They change only
   the identity used for file access, and only for the calling thread, which is what a module inside a
   (possibly threaded) server needs to open a file in a user's home with that user's privileges.
   Each returns the previous value. */
int ctotp_setfsuid(uid_t uid);
int ctotp_setfsgid(gid_t gid);

/* fcntl(fd, F_OFD_SETLKW) on the whole file for writing: fcntl is variadic and F_OFD_SETLKW needs
   _GNU_SOURCE. Returns fcntl's result; errno is set on -1. */
int ctotp_lock_exclusive(int fd);

/* getrandom(2): <sys/random.h> is not part of Swift's Glibc module. Fills buffer with length random
   bytes from the kernel (blocking only before the pool is initialised); returns the count, or -1. */
long ctotp_getrandom(void *buffer, unsigned long length);

#endif
