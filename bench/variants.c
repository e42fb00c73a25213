/* Linked only into make bench's variant of the module (build/bench/pam_totp-syncall.so, never
   installed), with the module's own objects and -Wl,--wrap=renameat: every rename the module makes
   comes here instead. It measures what durability costs a login (docs/DESIGN.md, "Durability"); the
   module itself has no such option.

   BENCH_VARIANT_SYNCALL: every file the module renames into place is fsynced first and its directory
   after, whatever the write, which is what the module did before state writes were made durable only
   when a crash must not lose them. (The module's own fsync of a durable write comes first; the
   second fsync of an unchanged file costs next to nothing.) */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#ifdef BENCH_VARIANT_SYNCALL
int __real_renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath);
int __wrap_renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath);

int __wrap_renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath) {
    int fd = openat(olddirfd, oldpath, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    int result = __real_renameat(olddirfd, oldpath, newdirfd, newpath);
    if (result == 0) fsync(newdirfd);
    return result;
}
#endif
