// For the setup tool's web-helper only (the module never calls these): what Swift cannot call
// itself, as small inline wrappers.
#include <sys/prctl.h>
#include <sys/resource.h>

/* prctl(2) is variadic, which Swift cannot call. Marks the process not dumpable: no core file, no
   ptrace attach by the same uid, /proc/PID/mem and environ root's. Inherited across fork. Returns 0
   or -1 (errno set). */
static inline int process_guard_not_dumpable(void) { return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); }

/* setrlimit(RLIMIT_CORE, 0): RLIMIT_CORE is an enum constant glibc's Swift overlay names awkwardly.
   Returns 0 or -1 (errno set). */
static inline int process_guard_no_core(void) {
    struct rlimit none = {0, 0};
    return setrlimit(RLIMIT_CORE, &none);
}

/* prctl(PR_GET_DUMPABLE), for the check after setting it. */
static inline int process_guard_dumpable(void) { return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0); }
