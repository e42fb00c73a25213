/* libsyslog_capture.so: an LD_PRELOAD library for the tests. It replaces the C library's syslog
   functions, so the log lines that pam_syslog (in the module) and vsyslog (in pam-totp-setup) send
   can be read by a test without a syslog daemon and without touching the machine's logs.

   Each line is written whole as "LOG <priority>: <text>" to the file named by $SYSLOG_CAPTURE_FILE
   (appended, for daemons whose stderr is gone), or else to standard error. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

void vsyslog(int priority, const char *format, va_list ap) {
    /* Formatted whole, however long: the tests check how long the module's lines are, so the capture
       must not cut them itself (a receiver's limit is the module's to respect, README "Log lines"). */
    char *message = NULL;
    if (vasprintf(&message, format, ap) < 0) return;
    char *text = NULL;
    int total = asprintf(&text, "LOG %d: %s\n", priority & LOG_PRIMASK, message);
    free(message);
    if (total < 0) return;
    const char *path = getenv("SYSLOG_CAPTURE_FILE");
    int fd = path ? open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600) : STDERR_FILENO;
    if (fd >= 0) {
        ssize_t ignored = write(fd, text, (size_t)total);  /* one write: lines from several processes never mix */
        (void)ignored;
        if (path) close(fd);
    }
    free(text);
}

void __vsyslog_chk(int priority, int flag, const char *format, va_list ap) {
    (void)flag;
    vsyslog(priority, format, ap);
}

void syslog(int priority, const char *format, ...) {
    va_list ap;
    va_start(ap, format);
    vsyslog(priority, format, ap);
    va_end(ap);
}

void __syslog_chk(int priority, int flag, const char *format, ...) {
    (void)flag;
    va_list ap;
    va_start(ap, format);
    vsyslog(priority, format, ap);
    va_end(ap);
}

void openlog(const char *ident, int option, int facility) { (void)ident; (void)option; (void)facility; }
void closelog(void) {}
