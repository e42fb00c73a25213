/* Linked only into make bench's variants of the module (build/bench/pam_totp-*.so, never installed),
   with the module's own objects and -Wl,--wrap: every call the module makes to the wrapped C function
   comes here instead. They measure what one piece of a login costs (docs/DESIGN.md, "Durability";
   docs/BENCHMARKS.md); the module itself has no such option. One variant per build:

   BENCH_VARIANT_NOFSYNC (--wrap=fsync): no fsync at all.
   BENCH_VARIANT_NODIRSYNC (--wrap=fsync): files are still synced, directories are not, which is what
       google-authenticator and pam_oath do (fsync of the new file, then rename).
   BENCH_VARIANT_NOLISTING (--wrap=fdopendir): fdopendir fails, so AtomicFile.removeStaleTemporaries,
       the only caller, returns without listing the state directory before each write. */
#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(BENCH_VARIANT_NOFSYNC) || defined(BENCH_VARIANT_NODIRSYNC)
int __real_fsync(int fd);
int __wrap_fsync(int fd);

int __wrap_fsync(int fd) {
#ifdef BENCH_VARIANT_NODIRSYNC
    struct stat info;
    if (fstat(fd, &info) == 0 && S_ISDIR(info.st_mode)) return 0;
    return __real_fsync(fd);
#else
    (void)fd;
    return 0;
#endif
}
#endif

#ifdef BENCH_VARIANT_NOLISTING
DIR *__wrap_fdopendir(int fd);

DIR *__wrap_fdopendir(int fd) {
    (void)fd;
    errno = ENOMEM;
    return NULL;
}
#endif
