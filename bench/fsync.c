/* Linked only into make bench's variants of the module (build/bench/pam_totp-*.so, never installed),
   with -Wl,--wrap=fsync: every fsync the module makes comes here instead. The variants measure what
   durability costs a login (docs/DESIGN.md, "Durability"); the module itself has no such option.

   BENCH_DIRECTORY_FSYNC_ONLY_SKIPPED 0: no fsync at all (pam-totp-nofsync).
   BENCH_DIRECTORY_FSYNC_ONLY_SKIPPED 1: files are still synced, directories are not (pam-totp-nodirsync),
   which is what google-authenticator and pam_oath do (fsync of the new file, then rename). */
#include <sys/stat.h>
#include <unistd.h>

int __real_fsync(int fd);
int __wrap_fsync(int fd);

int __wrap_fsync(int fd) {
#if BENCH_DIRECTORY_FSYNC_ONLY_SKIPPED
    struct stat info;
    if (fstat(fd, &info) == 0 && S_ISDIR(info.st_mode)) return 0;
    return __real_fsync(fd);
#else
    (void)fd;
    return 0;
#endif
}
