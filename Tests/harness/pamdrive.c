/* pamdrive: runs a real libpam stack from a private configuration directory (pam_start_confdir) with
   a scripted conversation, for the integration tests. Nothing in /etc is read or changed.

   usage: pamdrive -c CONFDIR -s SERVICE -u USER [-r RHOST] [-n REPEAT] [-t] [-q] [-e NAME=VALUE]... [RESPONSE ...]

   -q calls pam_authenticate with PAM_SILENT, as sudo does unless `Defaults !pam_silent`.

   -e puts a variable into the PAM environment, as sshd does with SSH_AUTH_INFO_0. With -n, each
   cycle is a whole pam_start/pam_authenticate/pam_end, and "RSS_KB <cycle> <kB>" is printed after
   cycle 10, 100 and the last, for the memory-growth test.

   -t (for make bench-probe) adds timestamps, CLOCK_MONOTONIC in microseconds, to the output:
   "START_US <us>" before pam_start, "PROMPT_US <us>" when a conversation call with a prompt arrives,
   "ANSWER_US <us>" when it hands its answers back, and "END_US <us>" when pam_authenticate returns.

   -f FILE (for make bench): one cycle per line "USER ANSWER", each timed from pam_start to pam_end
   and printed as "CYCLE_US <microseconds> <pam result>".

   Each prompt takes the next RESPONSE; "@file:PATH" answers with the contents of PATH (for inputs too
   long for the command line). What the module says is printed on stdout, one line each:
     PROMPT_OFF: text | PROMPT_ON: text | ERROR: text | INFO: text | DELAY: usec | RESULT: code name
   The tests preload libsyslog_capture.so to read what the module logs. The exit status is the last
   pam_authenticate result. */
#define _GNU_SOURCE
#include <security/pam_appl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long resident_kb(void) {
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return -1;
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = -1;
    fclose(f);
    return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Set in timed (-f) mode: the conversation and the fail-delay hook print nothing. */
static int quiet;
/* Set by -t: the conversation prints when prompts arrive and when answers go back. */
static int timestamps;
/* The flags pam_authenticate is called with: PAM_SILENT with -q. */
static int authenticate_flags;

static long long monotonic_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000LL + t.tv_nsec / 1000;
}

struct script {
    int count;
    char **responses;
    int next;
};

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(100); }
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 2) buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    if (!buf) exit(100);
    buf[len] = 0;
    return buf;
}

static int converse(int num, const struct pam_message **msg, struct pam_response **resp, void *data) {
    /* Taken first, so that the interval since the last answer is the module's time, not ours. */
    long long arrived = timestamps ? monotonic_us() : 0;
    int prompted = 0;
    struct script *s = data;
    struct pam_response *r = calloc((size_t)num, sizeof *r);
    if (!r) return PAM_BUF_ERR;
    for (int i = 0; i < num; i++) {
        if (timestamps && !prompted && (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF || msg[i]->msg_style == PAM_PROMPT_ECHO_ON)) {
            prompted = 1;
            printf("PROMPT_US %lld\n", arrived);
        }
        switch (msg[i]->msg_style) {
        case PAM_PROMPT_ECHO_OFF:
        case PAM_PROMPT_ECHO_ON:
            if (!quiet) printf("%s: %s\n", msg[i]->msg_style == PAM_PROMPT_ECHO_OFF ? "PROMPT_OFF" : "PROMPT_ON", msg[i]->msg);
            if (s->next >= s->count) {
                printf("CONV: no response left\n");
                for (int j = 0; j < i; j++) free(r[j].resp);
                free(r);
                return PAM_CONV_ERR;
            }
            {
                const char *answer = s->responses[s->next++];
                r[i].resp = strncmp(answer, "@file:", 6) == 0 ? read_file(answer + 6) : strdup(answer);
            }
            break;
        case PAM_ERROR_MSG: if (!quiet) printf("ERROR: %s\n", msg[i]->msg); break;
        case PAM_TEXT_INFO: if (!quiet) printf("INFO: %s\n", msg[i]->msg); break;
        default: if (!quiet) printf("OTHER(%d): %s\n", msg[i]->msg_style, msg[i]->msg); break;
        }
    }
    fflush(stdout);
    *resp = r;
    /* Taken last, after the flush; the line is buffered and goes out with the next flush. */
    if (prompted) printf("ANSWER_US %lld\n", monotonic_us());
    return PAM_SUCCESS;
}

/* Replaces libpam's sleep after a failure: the tests see the delay requested without waiting for it. */
static void fail_delay(int status, unsigned int usec, void *data) {
    (void)data;
    if (!quiet) printf("DELAY: %u (status %d)\n", usec, status);
}

int main(int argc, char **argv) {
    const char *confdir = NULL, *service = NULL, *user = NULL, *rhost = NULL, *cycles = NULL;
    const char *environment[16];
    int environment_count = 0;
    long repeat = 1;
    int opt;
    while ((opt = getopt(argc, argv, "c:s:u:r:n:e:f:tq")) != -1) {
        switch (opt) {
        case 'c': confdir = optarg; break;
        case 's': service = optarg; break;
        case 'u': user = optarg; break;
        case 'r': rhost = optarg; break;
        case 'n': repeat = strtol(optarg, NULL, 10); break;
        case 'f': cycles = optarg; break;
        case 't': timestamps = 1; break;
        case 'q': authenticate_flags = PAM_SILENT; break;
        case 'e':
            if (environment_count < 16) environment[environment_count++] = optarg;
            break;
        default: fprintf(stderr, "usage: pamdrive -c CONFDIR -s SERVICE -u USER [-r RHOST] [-n N] [-t] [RESPONSE...]\n"); return 100;
        }
    }
    if (cycles && confdir && service) {
        quiet = 1;
        FILE *f = fopen(cycles, "r");
        if (!f) { perror(cycles); return 100; }
        char line[512], name[256], answer[256];
        struct pam_conv timed = {converse, NULL};
        while (fgets(line, sizeof line, f)) {
            if (sscanf(line, "%255s %255s", name, answer) != 2) continue;
            char *one[1] = {answer};
            struct script s = {1, one, 0};
            timed.appdata_ptr = &s;
            struct timespec a, b;
            pam_handle_t *pamh = NULL;
            clock_gettime(CLOCK_MONOTONIC, &a);
            int rc = pam_start_confdir(service, name, &timed, confdir, &pamh);
            if (rc == PAM_SUCCESS) {
                pam_set_item(pamh, PAM_FAIL_DELAY, (const void *)fail_delay);
                rc = pam_authenticate(pamh, PAM_SILENT);
                pam_end(pamh, rc);
            }
            clock_gettime(CLOCK_MONOTONIC, &b);
            printf("CYCLE_US %ld %d\n", (b.tv_sec - a.tv_sec) * 1000000L + (b.tv_nsec - a.tv_nsec) / 1000L, rc);
        }
        fclose(f);
        return 0;
    }
    if (!confdir || !service || !user || repeat < 1) {
        fprintf(stderr, "pamdrive: -c, -s and -u are required\n");
        return 100;
    }
    struct script script = {argc - optind, argv + optind, 0};
    struct pam_conv conv = {converse, &script};
    int result = PAM_SUCCESS;
    for (long i = 0; i < repeat; i++) {
        pam_handle_t *pamh = NULL;
        script.next = 0;
        if (timestamps) printf("START_US %lld\n", monotonic_us());
        int rc = pam_start_confdir(service, user, &conv, confdir, &pamh);
        if (rc != PAM_SUCCESS) {
            printf("RESULT: %d pam_start_confdir: %s\n", rc, pam_strerror(pamh, rc));
            return rc;
        }
        if (rhost) pam_set_item(pamh, PAM_RHOST, rhost);
        for (int e = 0; e < environment_count; e++) pam_putenv(pamh, environment[e]);
        pam_set_item(pamh, PAM_FAIL_DELAY, (const void *)fail_delay);
        result = pam_authenticate(pamh, authenticate_flags);
        if (timestamps) printf("END_US %lld\n", monotonic_us());
        printf("RESULT: %d %s\n", result, pam_strerror(pamh, result));
        pam_end(pamh, result);
        if (repeat > 1 && (i + 1 == 10 || i + 1 == 100 || i + 1 == repeat)) printf("RSS_KB %ld %ld\n", i + 1, resident_kb());
        fflush(stdout);
    }
    return result;
}
