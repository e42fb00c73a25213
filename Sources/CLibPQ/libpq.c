#include "ctotp_libpq.h"
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <unistd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libpq-fe.h>

/* Declared with the header's own prototypes, so a mismatch is a compile error. */
static struct {
    __typeof__(PQconnectdbParams) *connectdb_params;
    __typeof__(PQstatus) *status;
    __typeof__(PQerrorMessage) *error_message;
    __typeof__(PQfinish) *finish;
    __typeof__(PQsendQueryParams) *send_query_params;
    __typeof__(PQsocket) *socket;
    __typeof__(PQconsumeInput) *consume_input;
    __typeof__(PQisBusy) *is_busy;
    __typeof__(PQgetResult) *get_result;
    __typeof__(PQresultStatus) *result_status;
    __typeof__(PQresultErrorField) *result_error_field;
    __typeof__(PQntuples) *ntuples;
    __typeof__(PQnfields) *nfields;
    __typeof__(PQgetisnull) *getisnull;
    __typeof__(PQgetvalue) *getvalue;
    __typeof__(PQgetlength) *getlength;
    __typeof__(PQclear) *clear;
    __typeof__(PQflush) *flush;
    __typeof__(PQsetnonblocking) *setnonblocking;
    __typeof__(PQsetNoticeProcessor) *set_notice_processor;
    __typeof__(PQconninfoParse) *conninfo_parse;
    __typeof__(PQconninfoFree) *conninfo_free;
    __typeof__(PQfreemem) *freemem;
} libpq;
static const char *load_error;
static pthread_once_t load_once = PTHREAD_ONCE_INIT;

static void *symbol(void *handle, const char *name) {
    void *found = dlsym(handle, name);
    if (found == NULL && load_error == NULL) load_error = "a libpq function is missing";
    return found;
}

#define LOAD(field, name) libpq.field = (__typeof__(libpq.field))symbol(handle, name)

static void load(void) {
    /* RTLD_NODELETE: libpq and what it loads (OpenSSL) keep state and thread keys; unloading them
       while the host process lives is not supported by them. */
    void *handle = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (handle == NULL) {
        const char *why = dlerror();
        load_error = why != NULL ? why : "dlopen failed";
        return;
    }
    LOAD(connectdb_params, "PQconnectdbParams");
    LOAD(status, "PQstatus");
    LOAD(error_message, "PQerrorMessage");
    LOAD(finish, "PQfinish");
    LOAD(send_query_params, "PQsendQueryParams");
    LOAD(socket, "PQsocket");
    LOAD(consume_input, "PQconsumeInput");
    LOAD(is_busy, "PQisBusy");
    LOAD(get_result, "PQgetResult");
    LOAD(result_status, "PQresultStatus");
    LOAD(result_error_field, "PQresultErrorField");
    LOAD(ntuples, "PQntuples");
    LOAD(nfields, "PQnfields");
    LOAD(getisnull, "PQgetisnull");
    LOAD(getvalue, "PQgetvalue");
    LOAD(getlength, "PQgetlength");
    LOAD(clear, "PQclear");
    LOAD(flush, "PQflush");
    LOAD(setnonblocking, "PQsetnonblocking");
    LOAD(set_notice_processor, "PQsetNoticeProcessor");
    LOAD(conninfo_parse, "PQconninfoParse");
    LOAD(conninfo_free, "PQconninfoFree");
    LOAD(freemem, "PQfreemem");
}

/* The server's notices (NOTICE, WARNING) would go to stderr, which in sshd or ocserv may be the
   client's or nobody's: they are dropped. Errors are reported through the results. */
static void ignore_notice(void *argument, const char *message) {
    (void)argument;
    (void)message;
}

static int loaded(char *error, size_t error_size) {
    if (pthread_once(&load_once, load) != 0 || load_error != NULL) {
        snprintf(error, error_size, "cannot load libpq.so.5: %s", load_error != NULL ? load_error : "pthread_once failed");
        return 0;
    }
    return 1;
}

/* libpq's messages span lines: one per host tried, each followed by tab-indented hints ("Is the
   server running on that host…?"). The log line keeps the hosts' lines, joined by "; ", and drops
   the hints, so that a long line cut in the middle still names each host and its reason. */
static void copy_error(char *error, size_t error_size, const char *prefix, const char *message) {
    size_t used = (size_t)snprintf(error, error_size, "%s", prefix);
    if (used >= error_size) return;
    for (const char *line = message != NULL ? message : ""; *line != '\0';) {
        size_t length = strcspn(line, "\n");
        if (line[0] != '\t' && length > 0) {
            const char *separator = used > strlen(prefix) ? "; " : "";
            int n = snprintf(error + used, error_size - used, "%s%.*s", separator, (int)length, line);
            if (n < 0 || (size_t)n >= error_size - used) break;
            used += (size_t)n;
        }
        line += length;
        if (*line == '\n') line++;
    }
    for (char *c = error; *c != '\0'; c++) if (*c == '\r' || *c == '\t') *c = ' ';
}

enum { BROKEN_TIMEOUT = 1, BROKEN_LOST = 2 };

struct ctotp_pq_connection {
    PGconn *conn;
    /* 0: usable; BROKEN_TIMEOUT: a statement was not answered in time; BROKEN_LOST: the connection
       was lost (the server closed it, or the network failed). */
    int broken;
    /* Why the last statement failed (ctotp_pq_failure). */
    int failure;
    /* CLOCK_MONOTONIC milliseconds by which the current request must be answered; 0: none. */
    long long deadline;
};

/* The store file's lines without blank lines and # comments, joined by spaces, or NULL if none. */
static char *connection_string(const unsigned char *file, size_t length) {
    char *out = calloc(1, length + 1);
    if (out == NULL) return NULL;
    size_t used = 0;
    for (size_t start = 0; start < length;) {
        size_t end = start;
        while (end < length && file[end] != '\n') end++;
        size_t from = start;
        while (from < end && (file[from] == ' ' || file[from] == '\t')) from++;
        if (from < end && file[from] != '#') {
            if (used > 0) out[used++] = ' ';
            for (size_t i = from; i < end; i++)
                if (file[i] != '\r') out[used++] = file[i] == '\0' ? ' ' : (char)file[i];
        }
        start = end + 1;
    }
    if (used == 0) {
        free(out);
        return NULL;
    }
    return out;
}

/* Whether libpq can parse the connection string. Its reasons are not passed on: they quote what
   they could not read (`missing "=" after "…"`, or a whole URI), which may be the password. */
/* 1 if libpq can parse the connection string, 0 if not, -1 if it names a service (service=). */
static int parses(const char *conninfo) {
    char *reason = NULL;
    PQconninfoOption *options = libpq.conninfo_parse(conninfo, &reason);
    if (reason != NULL) {
        explicit_bzero(reason, strlen(reason));
        libpq.freemem(reason);
    }
    if (options == NULL) return 0;
    int result = 1;
    for (PQconninfoOption *option = options; option->keyword != NULL; option++) {
        if (option->val == NULL) continue;
        if (strcmp(option->keyword, "service") == 0) result = -1;
        explicit_bzero(option->val, strlen(option->val));
    }
    libpq.conninfo_free(options);
    return result;
}

/* A message of libpq's that is not about a server connection ("invalid integer value "…" for
   connection option "port"", "could not translate host name "…"") may quote part of the connection
   string, password included, when a value is mistyped: what it quotes is left out. */
static void mask_quoted(char *error) {
    for (char *line = error; line != NULL && *line != '\0';) {
        char *next = strstr(line, "; ");
        if (strncmp(line, "cannot connect: ", 16) == 0) line += 16;
        if (strncmp(line, "connection to server ", 21) != 0) {
            char *end = next != NULL ? next : line + strlen(line);
            int inside = 0;
            for (char *c = line; c < end; c++) {
                if (*c == '"') inside = !inside;
                else if (inside) *c = '.';
            }
        }
        line = next != NULL ? next + 2 : NULL;
    }
}

/* The files libpq would look for in $HOME (which inside su is the caller's): those of the user the
   module runs as, given before the store file's own keywords, which override them. */
static int home_files(char *buffer, size_t size, const char **values) {
    struct passwd entry, *found = NULL;
    char scratch[1024];
    if (getpwuid_r(geteuid(), &entry, scratch, sizeof scratch, &found) != 0 || found == NULL || found->pw_dir == NULL) return 0;
    static const char *const names[] = {"/.pgpass", "/.postgresql/root.crt", "/.postgresql/root.crl",
                                        "/.postgresql/postgresql.crt", "/.postgresql/postgresql.key"};
    size_t used = 0;
    for (size_t i = 0; i < 5; i++) {
        int n = snprintf(buffer + used, size - used, "%s%s", found->pw_dir, names[i]);
        if (n < 0 || (size_t)n >= size - used) return 0;
        values[i] = buffer + used;
        used += (size_t)n + 1;
    }
    return 1;
}

extern char **environ;

/* The first PG* variable of the process's environment, or NULL. libpq takes every keyword the
   connection string leaves out from such a variable (PGHOST, PGPORT, PGSSLMODE, PGSSLROOTCERT,
   PGSERVICE…), with getenv(): inside sudo or su, from the user who runs them. */
static const char *libpq_variable(void) {
    for (char **variable = environ; variable != NULL && *variable != NULL; variable++)
        if (strncmp(*variable, "PG", 2) == 0) return *variable;
    return NULL;
}

ctotp_pq_connection *ctotp_pq_connect(const unsigned char *file, size_t length, int timeout_seconds,
                                      int use_environment, char *error, size_t error_size) {
    if (!use_environment) {
        const char *variable = libpq_variable();
        if (variable != NULL) {
            /* The name only: the value may be a password (PGPASSWORD). */
            size_t name = strcspn(variable, "=");
            snprintf(error, error_size, "the environment sets %.*s, which would choose the store in place of the "
                     "store file: refused (unset it, or put the setting in the file)", (int)(name > 64 ? 64 : name), variable);
            return NULL;
        }
    }
    if (!loaded(error, error_size)) return NULL;
    char *conninfo = connection_string(file, length);
    if (conninfo == NULL) {
        copy_error(error, error_size, "", "the file holds no connection string");
        return NULL;
    }
    int parsed = parses(conninfo);
    char files[5 * 1100];
    const char *defaults[5];
    if (parsed <= 0 || (!use_environment && !home_files(files, sizeof files, defaults))) {
        explicit_bzero(conninfo, strlen(conninfo));
        free(conninfo);
        copy_error(error, error_size, "",
                   parsed == 0 ? "the connection string is malformed (libpq's reason is not logged: it may quote the password; "
                                 "try the file's string with psql)"
                   : parsed < 0 ? "the store file names a service (service=), whose definition would come from a file "
                                  "the caller may choose: write its settings in the store file"
                                : "the home directory of the user the module runs as cannot be found");
        return NULL;
    }
    char timeout[16];
    snprintf(timeout, sizeof timeout, "%d", timeout_seconds < 1 ? 1 : timeout_seconds);
    /* Keywords before dbname are defaults that the expanded connection string overrides: the files
       libpq would take from $HOME. Keywords after it override the string: the bound is ours, and GSS
       encryption, which libpq would otherwise try before TLS whatever sslmode says (and which the
       caller's Kerberos environment steers), is off; GSS authentication still works over TLS. */
    const char *const keywords[] = {"passfile", "sslrootcert", "sslcrl", "sslcert", "sslkey",
                                    "dbname", "connect_timeout", "application_name", "gssencmode", NULL};
    const char *values[] = {NULL, NULL, NULL, NULL, NULL, conninfo, timeout, "pam_totp", "disable", NULL};
    if (!use_environment)
        for (size_t i = 0; i < 5; i++) values[i] = defaults[i];
    PGconn *conn = libpq.connectdb_params(use_environment ? keywords + 5 : keywords, use_environment ? values + 5 : values, 1);
    if (conn == NULL) {
        explicit_bzero(conninfo, strlen(conninfo));
        free(conninfo);
        copy_error(error, error_size, "", "out of memory");
        return NULL;
    }
    libpq.set_notice_processor(conn, ignore_notice, NULL);
    if (libpq.status(conn) != CONNECTION_OK || libpq.setnonblocking(conn, 1) != 0) {
        copy_error(error, error_size, "cannot connect: ", libpq.error_message(conn));
        mask_quoted(error);
        explicit_bzero(conninfo, strlen(conninfo));
        free(conninfo);
        libpq.finish(conn);
        return NULL;
    }
    explicit_bzero(conninfo, strlen(conninfo));
    free(conninfo);
    ctotp_pq_connection *connection = calloc(1, sizeof *connection);
    if (connection == NULL) {
        libpq.finish(conn);
        copy_error(error, error_size, "", "out of memory");
        return NULL;
    }
    connection->conn = conn;
    return connection;
}

static long long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Waits until the socket is ready for `events` or the deadline passes: 1 ready, 0 not. */
static int wait_for(PGconn *conn, short events, long long deadline) {
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0) return 0;
        /* No socket: libpq closed it; reading says the connection is lost. */
        if (libpq.socket(conn) < 0) return 1;
        struct pollfd p = {.fd = libpq.socket(conn), .events = events};
        int n = poll(&p, 1, left > 60000 ? 60000 : (int)left);
        if (n > 0) return 1;
        if (n < 0 && errno != EINTR) return 0;
    }
}

ctotp_pq_result *ctotp_pq_exec(ctotp_pq_connection *connection, const char *statement, int count,
                               const char *const *values, int timeout_seconds, char *error, size_t error_size) {
    if (connection == NULL || connection->broken) {
        if (connection == NULL) return NULL;
        connection->failure = CTOTP_PQ_LOST;
        copy_error(error, error_size, "", "the connection to the store was lost");
        return NULL;
    }
    PGconn *conn = connection->conn;
    long long deadline = now_ms() + (long long)(timeout_seconds < 1 ? 1 : timeout_seconds) * 1000;
    if (connection->deadline != 0 && connection->deadline < deadline) deadline = connection->deadline;
    if (!libpq.send_query_params(conn, statement, count, NULL, values, NULL, NULL, 0)) goto lost;
    int flushed;
    while ((flushed = libpq.flush(conn)) == 1) {
        if (!wait_for(conn, POLLOUT | POLLIN, deadline)) goto timeout;
        /* The server may be sending while it is sent to: read it, as libpq's PQflush asks. */
        if (!libpq.consume_input(conn)) goto lost;
    }
    if (flushed < 0) goto lost;
    PGresult *kept = NULL;
    for (;;) {
        while (libpq.is_busy(conn)) {
            if (!wait_for(conn, POLLIN, deadline)) {
                if (kept != NULL) ctotp_pq_clear((ctotp_pq_result *)kept);
                goto timeout;
            }
            if (!libpq.consume_input(conn)) {
                if (kept != NULL) ctotp_pq_clear((ctotp_pq_result *)kept);
                goto lost;
            }
        }
        PGresult *result = libpq.get_result(conn);
        if (result == NULL) break;
        if (kept == NULL) kept = result;
        else ctotp_pq_clear((ctotp_pq_result *)result);
    }
    if (kept == NULL) goto lost;
    ExecStatusType status = libpq.result_status(kept);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        /* The primary message only: DETAIL may quote a row's values ("Failing row contains …"). */
        const char *primary = libpq.result_error_field(kept, PG_DIAG_MESSAGE_PRIMARY);
        const char *state = libpq.result_error_field(kept, PG_DIAG_SQLSTATE);
        /* undefined_table, invalid_schema_name: the database was never set up. */
        if (state != NULL && (strcmp(state, "42P01") == 0 || strcmp(state, "3F000") == 0)) {
            connection->failure = CTOTP_PQ_NO_SCHEMA;
            copy_error(error, error_size, "the database has no pam_totp schema (run pam-totp-setup store init): ", primary);
        } else {
            connection->failure = CTOTP_PQ_STATEMENT;
            copy_error(error, error_size, "", primary != NULL ? primary : "the statement failed");
        }
        ctotp_pq_clear((ctotp_pq_result *)kept);
        return NULL;
    }
    return (ctotp_pq_result *)kept;
timeout:
    connection->broken = BROKEN_TIMEOUT;
    connection->failure = CTOTP_PQ_TIMEOUT;
    snprintf(error, error_size, "no answer from the store within %d s", timeout_seconds < 1 ? 1 : timeout_seconds);
    return NULL;
lost:
    connection->broken = BROKEN_LOST;
    connection->failure = CTOTP_PQ_LOST;
    copy_error(error, error_size, "", libpq.error_message(conn));
    return NULL;
}

void ctotp_pq_set_deadline(ctotp_pq_connection *connection, int timeout_seconds) {
    if (connection != NULL) connection->deadline = now_ms() + (long long)(timeout_seconds < 1 ? 1 : timeout_seconds) * 1000;
}

int ctotp_pq_failure(const ctotp_pq_connection *connection) { return connection != NULL ? connection->failure : 0; }

int ctotp_pq_lost(ctotp_pq_connection *connection) {
    return connection != NULL && (connection->broken == BROKEN_LOST || libpq.status(connection->conn) != CONNECTION_OK);
}

int ctotp_pq_usable(ctotp_pq_connection *connection) {
    return connection != NULL && !connection->broken && libpq.status(connection->conn) == CONNECTION_OK;
}

int ctotp_pq_rows(const ctotp_pq_result *result) { return libpq.ntuples((const PGresult *)result); }

int ctotp_pq_is_null(const ctotp_pq_result *result, int row, int column) {
    return libpq.getisnull((const PGresult *)result, row, column);
}

const char *ctotp_pq_value(const ctotp_pq_result *result, int row, int column) {
    return libpq.getvalue((const PGresult *)result, row, column);
}

int ctotp_pq_length(const ctotp_pq_result *result, int row, int column) {
    return libpq.getlength((const PGresult *)result, row, column);
}

void ctotp_pq_clear(ctotp_pq_result *result) {
    if (result == NULL) return;
    const PGresult *r = (const PGresult *)result;
    int rows = libpq.ntuples(r), columns = libpq.nfields(r);
    for (int row = 0; row < rows; row++)
        for (int column = 0; column < columns; column++)
            explicit_bzero(libpq.getvalue(r, row, column), (size_t)libpq.getlength(r, row, column));
    libpq.clear((PGresult *)result);
}

void ctotp_pq_finish(ctotp_pq_connection *connection) {
    if (connection == NULL) return;
    libpq.finish(connection->conn);
    free(connection);
}
