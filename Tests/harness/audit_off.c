/* libaudit_off.so: an LD_PRELOAD library for the stack test (Tests/integration/test_stack.py). It
   makes libaudit's audit_open fail as it does on a kernel without audit support, so that libpam skips
   its audit records.

   Why: Debian's libpam writes an audit record at the end of every pam_authenticate, and libaudit
   formats it in buffers on the stack: about 28 kB, more than any module here uses, and the same
   whichever module ran. Measured with it, every module's high-water mark is libpam's. With it off,
   `pamdrive -S` measures the modules' own path (the record is written after they return, so it never
   adds to their depth). */
#include <errno.h>

int audit_open(void);

int audit_open(void) {
    errno = EPROTONOSUPPORT;
    return -1;
}
