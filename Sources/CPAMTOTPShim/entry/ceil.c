/* Swift's Dictionary and Set size their tables with ceil(), which lives in libm. The module defines
   its own, hidden (the version script exports only pam_sm_*), so that it needs libc and libpam only
   and does not load libm into every process that authenticates. Exact for every double: values of
   magnitude 2^52 or more, infinities and NaN are already integral and returned as they are. */
__attribute__((visibility("hidden"))) double ceil(double x) {
    if (!(x > -4503599627370496.0 && x < 4503599627370496.0)) return x;
    double truncated = (double)(long long)x;
    return truncated < x ? truncated + 1.0 : truncated;
}
