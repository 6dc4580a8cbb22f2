/*
 * tsbuild-sandbox: run one command in fresh namespaces, on an overlay (or
 * directory) root, inside a cgroup, and report how it went.
 *
 * Three processes:
 *
 *   helper   (host)       reads the spec, creates the cgroup, clones init,
 *                         starts slirp4netns, writes the status fd, reaps,
 *                         collects cgroup figures and removes the cgroup.
 *   init     (pid 1)      unshares the cgroup ns, mounts everything, pivots,
 *                         forks the payload, reaps, forwards signals.
 *   payload  (pid 2)      drops to the spec's user, capabilities and seccomp
 *                         filter, closes every fd but 0-2, execs args[0].
 *
 * The spec is parsed into a `struct sandbox_config` plus a list of
 * `struct setup_op`, which init performs in order. Every syscall is
 * checked; a failure anywhere ends the sandbox with exit code 125 and one
 * JSON line on the status fd naming the stage, the syscall and errno.
 * README.md describes the spec, the protocol and the invariants.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <math.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdnoreturn.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/sendfile.h>
#include <sys/uio.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif
#ifndef CGROUP_SUPER_MAGIC
#define CGROUP_SUPER_MAGIC 0x27e0eb
#endif
#ifndef DEVPTS_SUPER_MAGIC
#define DEVPTS_SUPER_MAGIC 0x1cd1
#endif
#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

/* -DSANDBOX_TRACE: timestamps of the milestones on stderr (profiling only). */
#ifdef SANDBOX_TRACE
#define TRACE(label)                                                                                           \
  do {                                                                                                         \
    struct timespec ts_;                                                                                       \
    clock_gettime(CLOCK_MONOTONIC, &ts_);                                                                      \
    dprintf(2, "trace %d %ld.%06ld %s\n", (int)getpid(), (long)ts_.tv_sec % 1000, ts_.tv_nsec / 1000, label);   \
  } while (0)
#else
#define TRACE(label) ((void)0)
#endif

#define EXIT_SETUP_FAILED 125
#define TFR(expr) TEMP_FAILURE_RETRY(expr)
#define N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

/* overlayfs refuses more lower layers than this (OVL_MAX_STACK). */
#define OVERLAY_MAX_LOWER 500
#define SPEC_MAX_BYTES (64u << 20)
#define JSON_MAX_DEPTH 32
#define CPU_PERIOD_US 100000L

static const char DEFAULT_PATH[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/* Where the host's root lives while init builds the new one (see setup_rootfs). */
static const char OLDROOT[] = "/oldroot";
static const char NEWROOT[] = "/newroot";

/* ------------------------------------------------------------------------
 * Cleanup attributes
 * --------------------------------------------------------------------- */

static inline void cleanup_fdp(int *fd)
{
  if (*fd >= 0) {
    int saved = errno;
    close(*fd);
    errno = saved;
  }
}
static inline void cleanup_freep(void *p)
{
  void **pp = p;
  free(*pp);
}
#define cleanup_fd __attribute__((cleanup(cleanup_fdp)))
#define cleanup_free __attribute__((cleanup(cleanup_freep)))

static inline int steal_fd(int *fd)
{
  int r = *fd;
  *fd = -1;
  return r;
}

/* ------------------------------------------------------------------------
 * Messages between the sandbox processes and the helper
 * --------------------------------------------------------------------- */

enum msg_kind {
  MSG_GO = 1,     /* helper → init: cgroup and network are ready */
  MSG_FAIL,       /* init/payload → helper: setup failed (stage, errno, text) */
  MSG_EXECED,     /* init → helper: the payload's execve succeeded */
  MSG_STATUS,     /* init → helper: the payload's wait status */
  MSG_TTY,        /* init → helper: the pty master, as SCM_RIGHTS */
};

struct msg {
  uint32_t kind;
  int32_t err;
  int32_t status;
  char stage[48];
  char syscall[32];
  char text[4400];
};

struct helper_state;

/* The one piece of global state: where a failure is reported. Everything
 * else lives in `struct sandbox_config` / `struct helper_state`. */
static struct {
  const char *stage;
  int status_fd;                /* helper: caller's status fd (JSON lines) */
  int channel_fd;               /* init/payload: a struct msg goes here */
  struct helper_state *helper;  /* helper: what to tear down on failure */
} g_report = {"startup", -1, -1, NULL};

static void set_stage(const char *stage)
{
  g_report.stage = stage;
}

/* ------------------------------------------------------------------------
 * Small I/O helpers
 * --------------------------------------------------------------------- */

static bool write_all(int fd, const void *buf, size_t len)
{
  const char *p = buf;
  while (len > 0) {
    ssize_t n = TFR(write(fd, p, len));
    if (n < 0)
      return false;
    p += n;
    len -= (size_t)n;
  }
  return true;
}

/* Reads until `len` bytes or EOF; returns the count or -1. */
static ssize_t read_full(int fd, void *buf, size_t len)
{
  char *p = buf;
  size_t got = 0;
  while (got < len) {
    ssize_t n = TFR(read(fd, p + got, len - got));
    if (n < 0)
      return -1;
    if (n == 0)
      break;
    got += (size_t)n;
  }
  return (ssize_t)got;
}

/* ------------------------------------------------------------------------
 * String buffer
 * --------------------------------------------------------------------- */

struct strbuf {
  char *s;
  size_t len, cap;
};

static noreturn void die_oom(void);

static void sb_reserve(struct strbuf *b, size_t extra)
{
  if (b->len + extra + 1 <= b->cap)
    return;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < b->len + extra + 1)
    cap *= 2;
  char *s = realloc(b->s, cap);
  if (s == NULL)
    die_oom();
  b->s = s;
  b->cap = cap;
}

static void sb_addn(struct strbuf *b, const char *s, size_t n)
{
  sb_reserve(b, n);
  memcpy(b->s + b->len, s, n);
  b->len += n;
  b->s[b->len] = '\0';
}

static void sb_add(struct strbuf *b, const char *s)
{
  sb_addn(b, s, strlen(s));
}

static void sb_addc(struct strbuf *b, char c)
{
  sb_addn(b, &c, 1);
}

__attribute__((format(printf, 2, 3))) static void sb_printf(struct strbuf *b, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0)
    return;
  sb_reserve(b, (size_t)n);
  va_start(ap, fmt);
  vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

/* A JSON string literal (with quotes). Bytes ≥ 0x80 pass through: paths are
 * UTF-8 in practice, and the reader tolerates the rest. */
static void sb_json_string(struct strbuf *b, const char *s)
{
  sb_addc(b, '"');
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    switch (*p) {
    case '"':
      sb_add(b, "\\\"");
      break;
    case '\\':
      sb_add(b, "\\\\");
      break;
    case '\n':
      sb_add(b, "\\n");
      break;
    case '\r':
      sb_add(b, "\\r");
      break;
    case '\t':
      sb_add(b, "\\t");
      break;
    default:
      if (*p < 0x20 || *p == 0x7f)
        sb_printf(b, "\\u%04x", *p);
      else
        sb_addc(b, (char)*p);
    }
  }
  sb_addc(b, '"');
}

/* ------------------------------------------------------------------------
 * Failure reporting
 * --------------------------------------------------------------------- */

static void helper_teardown(struct helper_state *h);

static void status_write(struct strbuf *b)
{
  if (g_report.status_fd >= 0)
    (void)write_all(g_report.status_fd, b->s, b->len); /* EPIPE: nobody listens; nothing to do */
  free(b->s);
  b->s = NULL;
  b->len = b->cap = 0;
}

static void copy_str(char *dst, size_t size, const char *src)
{
  snprintf(dst, size, "%s", src ? src : "");
}

static noreturn void die_report(const char *stage, int err, const char *syscall, const char *text)
{
  if (g_report.channel_fd >= 0) {
    /* Inside the sandbox: the helper owns the status fd. */
    struct msg m;
    memset(&m, 0, sizeof m);
    m.kind = MSG_FAIL;
    m.err = err;
    copy_str(m.stage, sizeof m.stage, stage);
    copy_str(m.syscall, sizeof m.syscall, syscall);
    copy_str(m.text, sizeof m.text, text);
    (void)write_all(g_report.channel_fd, &m, sizeof m);
    _exit(EXIT_SETUP_FAILED);
  }
  if (g_report.helper != NULL) {
    struct helper_state *h = g_report.helper;
    g_report.helper = NULL; /* a failure during teardown must not recurse */
    helper_teardown(h);
  }
  if (g_report.status_fd >= 0) {
    struct strbuf b = {0};
    sb_add(&b, "{\"ok\":false,\"stage\":");
    sb_json_string(&b, stage);
    sb_add(&b, ",\"syscall\":");
    if (syscall != NULL && *syscall)
      sb_json_string(&b, syscall);
    else
      sb_add(&b, "null");
    if (err != 0)
      sb_printf(&b, ",\"errno\":%d", err);
    else
      sb_add(&b, ",\"errno\":null");
    sb_add(&b, ",\"message\":");
    sb_json_string(&b, text);
    sb_add(&b, "}\n");
    status_write(&b);
  } else {
    dprintf(STDERR_FILENO, "tsbuild-sandbox: %s: %s\n", stage, text);
  }
  _exit(EXIT_SETUP_FAILED);
}

static noreturn void die_va(int err, const char *syscall, const char *fmt, va_list ap)
{
  char text[4096];
  int n = vsnprintf(text, sizeof text, fmt, ap);
  if (n < 0)
    text[0] = '\0';
  if (err != 0) {
    size_t len = strlen(text);
    snprintf(text + len, sizeof text - len, ": %s", strerror(err));
  }
  die_report(g_report.stage, err, syscall, text);
}

/* die_errno("mount", "mount overlay on %s", path): the syscall failed with errno. */
__attribute__((format(printf, 2, 3))) static noreturn void die_errno(const char *syscall, const char *fmt, ...)
{
  int err = errno;
  va_list ap;
  va_start(ap, fmt);
  die_va(err, syscall, fmt, ap);
}

/* Like die_errno with an explicit error number (libseccomp returns -errno). */
__attribute__((format(printf, 3, 4))) static noreturn void die_err(int err, const char *syscall, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  die_va(err, syscall, fmt, ap);
}

/* A failure that is not a syscall's but still has an errno value for the
 * caller (EINVAL for a bad spec); the message gets no strerror suffix. */
__attribute__((format(printf, 2, 3))) static noreturn void die_fail(int err, const char *fmt, ...)
{
  char text[4096];
  va_list ap;
  va_start(ap, fmt);
  if (vsnprintf(text, sizeof text, fmt, ap) < 0)
    text[0] = '\0';
  va_end(ap);
  die_report(g_report.stage, err, NULL, text);
}

/* A failure that is not a syscall's (bad spec, protocol). */
__attribute__((format(printf, 1, 2))) static noreturn void die(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  die_va(0, NULL, fmt, ap);
}

static noreturn void die_oom(void)
{
  die_report(g_report.stage, ENOMEM, "malloc", "out of memory");
}

static void *xmalloc(size_t n)
{
  void *p = malloc(n ? n : 1);
  if (p == NULL)
    die_oom();
  return p;
}

static void *xcalloc(size_t n, size_t size)
{
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (p == NULL)
    die_oom();
  return p;
}

static void *xrealloc(void *p, size_t n)
{
  void *q = realloc(p, n ? n : 1);
  if (q == NULL)
    die_oom();
  return q;
}

static char *xstrdup(const char *s)
{
  char *p = strdup(s);
  if (p == NULL)
    die_oom();
  return p;
}

__attribute__((format(printf, 1, 2))) static char *xasprintf(const char *fmt, ...)
{
  va_list ap;
  char *s = NULL;
  va_start(ap, fmt);
  int n = vasprintf(&s, fmt, ap);
  va_end(ap);
  if (n < 0)
    die_oom();
  return s;
}

/* ------------------------------------------------------------------------
 * JSON (just enough for the spec: strict RFC 8259, no NUL in strings)
 * --------------------------------------------------------------------- */

enum json_type { JSON_NULL, JSON_FALSE, JSON_TRUE, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct json {
  enum json_type type;
  double number;
  char *string;
  size_t n;            /* array items / object members */
  struct json *items;  /* array items / object values */
  char **keys;         /* object keys */
};

struct json_cursor {
  const char *start, *p, *end;
  unsigned depth;
  const char *error;
};

static void json_free(struct json *j)
{
  if (j == NULL)
    return;
  free(j->string);
  for (size_t i = 0; i < j->n; i++) {
    json_free(&j->items[i]);
    if (j->keys)
      free(j->keys[i]);
  }
  free(j->items);
  free(j->keys);
  memset(j, 0, sizeof *j);
}

static void json_ws(struct json_cursor *c)
{
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
    c->p++;
}

static bool json_fail(struct json_cursor *c, const char *error)
{
  if (c->error == NULL)
    c->error = error;
  return false;
}

static int json_hex4(const char *p)
{
  int v = 0;
  for (int i = 0; i < 4; i++) {
    int d;
    if (p[i] >= '0' && p[i] <= '9')
      d = p[i] - '0';
    else if (p[i] >= 'a' && p[i] <= 'f')
      d = p[i] - 'a' + 10;
    else if (p[i] >= 'A' && p[i] <= 'F')
      d = p[i] - 'A' + 10;
    else
      return -1;
    v = v * 16 + d;
  }
  return v;
}

static void utf8_put(struct strbuf *b, uint32_t cp)
{
  char out[4];
  size_t n;
  if (cp < 0x80) {
    out[0] = (char)cp;
    n = 1;
  } else if (cp < 0x800) {
    out[0] = (char)(0xc0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3f));
    n = 2;
  } else if (cp < 0x10000) {
    out[0] = (char)(0xe0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[2] = (char)(0x80 | (cp & 0x3f));
    n = 3;
  } else {
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    n = 4;
  }
  sb_addn(b, out, n);
}

static bool json_string(struct json_cursor *c, char **out)
{
  struct strbuf b = {0};
  sb_reserve(&b, 0);
  c->p++; /* opening quote */
  for (;;) {
    if (c->p >= c->end) {
      free(b.s);
      return json_fail(c, "unterminated string");
    }
    unsigned char ch = (unsigned char)*c->p;
    if (ch == '"') {
      c->p++;
      break;
    }
    if (ch < 0x20) {
      free(b.s);
      return json_fail(c, "control character in string");
    }
    if (ch != '\\') {
      sb_addc(&b, (char)ch);
      c->p++;
      continue;
    }
    if (c->end - c->p < 2) {
      free(b.s);
      return json_fail(c, "unterminated escape");
    }
    char e = c->p[1];
    c->p += 2;
    switch (e) {
    case '"': sb_addc(&b, '"'); break;
    case '\\': sb_addc(&b, '\\'); break;
    case '/': sb_addc(&b, '/'); break;
    case 'b': sb_addc(&b, '\b'); break;
    case 'f': sb_addc(&b, '\f'); break;
    case 'n': sb_addc(&b, '\n'); break;
    case 'r': sb_addc(&b, '\r'); break;
    case 't': sb_addc(&b, '\t'); break;
    case 'u': {
      int hi = c->end - c->p >= 4 ? json_hex4(c->p) : -1;
      if (hi < 0) {
        free(b.s);
        return json_fail(c, "bad \\u escape");
      }
      c->p += 4;
      uint32_t cp = (uint32_t)hi;
      if (hi >= 0xd800 && hi <= 0xdbff) {
        int lo = (c->end - c->p >= 6 && c->p[0] == '\\' && c->p[1] == 'u') ? json_hex4(c->p + 2) : -1;
        if (lo < 0xdc00 || lo > 0xdfff) {
          free(b.s);
          return json_fail(c, "unpaired surrogate");
        }
        c->p += 6;
        cp = 0x10000 + (((uint32_t)hi - 0xd800) << 10) + ((uint32_t)lo - 0xdc00);
      } else if (hi >= 0xdc00 && hi <= 0xdfff) {
        free(b.s);
        return json_fail(c, "unpaired surrogate");
      } else if (hi == 0) {
        free(b.s);
        return json_fail(c, "NUL character in string");
      }
      utf8_put(&b, cp);
      break;
    }
    default:
      free(b.s);
      return json_fail(c, "bad escape");
    }
  }
  *out = b.s;
  return true;
}

static bool json_number(struct json_cursor *c, double *out)
{
  const char *s = c->p;
  const char *p = s;
  if (p < c->end && *p == '-')
    p++;
  if (p >= c->end || !isdigit((unsigned char)*p))
    return json_fail(c, "bad number");
  if (*p == '0')
    p++;
  else
    while (p < c->end && isdigit((unsigned char)*p))
      p++;
  if (p < c->end && *p == '.') {
    p++;
    if (p >= c->end || !isdigit((unsigned char)*p))
      return json_fail(c, "bad number");
    while (p < c->end && isdigit((unsigned char)*p))
      p++;
  }
  if (p < c->end && (*p == 'e' || *p == 'E')) {
    p++;
    if (p < c->end && (*p == '+' || *p == '-'))
      p++;
    if (p >= c->end || !isdigit((unsigned char)*p))
      return json_fail(c, "bad number");
    while (p < c->end && isdigit((unsigned char)*p))
      p++;
  }
  char buf[64];
  size_t len = (size_t)(p - s);
  if (len >= sizeof buf)
    return json_fail(c, "number too long");
  memcpy(buf, s, len);
  buf[len] = '\0';
  *out = strtod(buf, NULL);
  if (!isfinite(*out))
    return json_fail(c, "number out of range");
  c->p = p;
  return true;
}

static bool json_literal(struct json_cursor *c, const char *word)
{
  size_t n = strlen(word);
  if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0)
    return json_fail(c, "unexpected character");
  c->p += n;
  return true;
}

static bool json_value(struct json_cursor *c, struct json *out)
{
  memset(out, 0, sizeof *out);
  json_ws(c);
  if (c->p >= c->end)
    return json_fail(c, "unexpected end of input");
  switch (*c->p) {
  case 'n':
    out->type = JSON_NULL;
    return json_literal(c, "null");
  case 't':
    out->type = JSON_TRUE;
    return json_literal(c, "true");
  case 'f':
    out->type = JSON_FALSE;
    return json_literal(c, "false");
  case '"':
    out->type = JSON_STRING;
    return json_string(c, &out->string);
  case '[':
  case '{': {
    bool object = *c->p == '{';
    char close = object ? '}' : ']';
    out->type = object ? JSON_OBJECT : JSON_ARRAY;
    if (++c->depth > JSON_MAX_DEPTH)
      return json_fail(c, "nested too deeply");
    c->p++;
    json_ws(c);
    if (c->p < c->end && *c->p == close) {
      c->p++;
      c->depth--;
      return true;
    }
    size_t cap = 0;
    for (;;) {
      if (out->n == cap) {
        cap = cap ? cap * 2 : 4;
        out->items = xrealloc(out->items, cap * sizeof *out->items);
        if (object)
          out->keys = xrealloc(out->keys, cap * sizeof *out->keys);
      }
      if (object) {
        json_ws(c);
        if (c->p >= c->end || *c->p != '"')
          return json_fail(c, "expected a member name");
        char *key = NULL;
        if (!json_string(c, &key))
          return false;
        for (size_t i = 0; i < out->n; i++)
          if (strcmp(out->keys[i], key) == 0) {
            free(key);
            return json_fail(c, "duplicate member name");
          }
        out->keys[out->n] = key;
        json_ws(c);
        if (c->p >= c->end || *c->p != ':') {
          memset(&out->items[out->n], 0, sizeof out->items[0]);
          out->n++;
          return json_fail(c, "expected ':'");
        }
        c->p++;
      }
      bool ok = json_value(c, &out->items[out->n]);
      out->n++;
      if (!ok)
        return false;
      json_ws(c);
      if (c->p < c->end && *c->p == ',') {
        c->p++;
        continue;
      }
      if (c->p < c->end && *c->p == close) {
        c->p++;
        c->depth--;
        return true;
      }
      return json_fail(c, object ? "expected ',' or '}'" : "expected ',' or ']'");
    }
  }
  default:
    if (*c->p == '-' || isdigit((unsigned char)*c->p)) {
      out->type = JSON_NUMBER;
      return json_number(c, &out->number);
    }
    return json_fail(c, "unexpected character");
  }
}

/* Parses a whole document; on failure returns false with `err` filled. */
static bool json_parse(const char *text, size_t len, struct json *out, char *err, size_t errlen)
{
  struct json_cursor c = {text, text, text + len, 0, NULL};
  bool ok = json_value(&c, out);
  if (ok) {
    json_ws(&c);
    if (c.p != c.end)
      ok = json_fail(&c, "trailing characters");
  }
  if (!ok) {
    snprintf(err, errlen, "%s at byte %zu", c.error ? c.error : "invalid JSON", (size_t)(c.p - c.start));
    json_free(out);
  }
  return ok;
}

/* ------------------------------------------------------------------------
 * Paths (pure)
 * --------------------------------------------------------------------- */

/* Lexically normalises an absolute path: no empty, "." or ".." components
 * (".." stops at "/"). Returns "/" for the root. */
static char *path_normalize(const char *path)
{
  size_t len = strlen(path);
  char *out = xmalloc(len + 2);
  size_t o = 0;
  const char *p = path;
  while (*p) {
    while (*p == '/')
      p++;
    const char *s = p;
    while (*p && *p != '/')
      p++;
    size_t n = (size_t)(p - s);
    if (n == 0 || (n == 1 && s[0] == '.'))
      continue;
    if (n == 2 && s[0] == '.' && s[1] == '.') {
      while (o > 0 && out[o - 1] != '/')
        o--;
      if (o > 0)
        o--;
      continue;
    }
    out[o++] = '/';
    memcpy(out + o, s, n);
    o += n;
  }
  if (o == 0)
    out[o++] = '/';
  out[o] = '\0';
  return out;
}

/* a + "/" + b with exactly one slash between them. */
static char *path_join(const char *a, const char *b)
{
  size_t la = strlen(a);
  while (la > 0 && a[la - 1] == '/')
    la--;
  while (*b == '/')
    b++;
  return xasprintf("%.*s/%s", (int)la, a, b);
}

static bool path_has_dotdot(const char *path)
{
  for (const char *p = path; *p;) {
    while (*p == '/')
      p++;
    const char *s = p;
    while (*p && *p != '/')
      p++;
    if (p - s == 2 && s[0] == '.' && s[1] == '.')
      return true;
  }
  return false;
}

/* ------------------------------------------------------------------------
 * The spec
 * --------------------------------------------------------------------- */

enum rootfs_kind { ROOTFS_OVERLAY, ROOTFS_DIR };
enum mount_kind { MOUNT_BIND, MOUNT_TMPFS };
enum network_mode { NETWORK_NONE, NETWORK_HOST, NETWORK_DEFAULT, NETWORK_NETNS };
enum caps_mode { CAPS_DEFAULT, CAPS_ALL };
enum stdin_mode { STDIN_NULL, STDIN_INHERIT };

struct mount_spec {
  enum mount_kind kind;
  const char *source;  /* bind: host path */
  char *target;        /* normalised, inside the rootfs */
  bool readonly;
  uint64_t size;       /* tmpfs: bytes, 0 = kernel default */
  unsigned mode;       /* tmpfs */
  bool has_mode;
};

struct sandbox_config {
  enum rootfs_kind rootfs;
  const char **lower;  /* overlay: top first */
  size_t n_lower;
  const char *upper, *work;
  const char *dir;     /* dir rootfs */
  bool root_readonly;  /* rootfs.readonly (either kind): the root mount, last */

  struct mount_spec *mounts;
  size_t n_mounts;

  const char **args;   /* NULL-terminated */
  const char **env;    /* NULL-terminated */
  char *cwd;
  uid_t uid;
  gid_t gid;
  gid_t *groups;
  size_t n_groups;
  const char *hostname; /* NULL: keep the inherited one */
  enum network_mode network;
  const char *netns;    /* NETWORK_NETNS: the namespace file to join */
  const char *if_name;  /* NETWORK_NETNS: an interface to configure there, or NULL */
  struct in_addr if_addr, if_gateway;
  unsigned if_prefix;
  bool if_has_gateway;

  bool has_memory, has_cpus, has_pids;
  uint64_t memory;
  double cpus;
  uint64_t pids;
  const char *cgroup_parent;

  const char *etc_hosts, *etc_hostname, *etc_resolv_conf; /* NULL: not written */
  enum caps_mode caps;
  bool seccomp;
  enum stdin_mode stdin_mode;
  bool tty;            /* a pty in the sandbox is the command's stdio */
  unsigned tty_rows, tty_cols;
};

static const struct json *json_member(const struct json *obj, const char *key)
{
  for (size_t i = 0; i < obj->n; i++)
    if (strcmp(obj->keys[i], key) == 0)
      return obj->items[i].type == JSON_NULL ? NULL : &obj->items[i];
  return NULL;
}

static void spec_check_keys(const struct json *obj, const char *where, const char *const *allowed)
{
  for (size_t i = 0; i < obj->n; i++) {
    bool known = false;
    for (const char *const *a = allowed; *a; a++)
      if (strcmp(obj->keys[i], *a) == 0)
        known = true;
    if (!known)
      die_fail(EINVAL, "%s: unknown field \"%s\"", where, obj->keys[i]);
  }
}

static const struct json *spec_object(const struct json *obj, const char *key, const char *where, bool required)
{
  const struct json *v = json_member(obj, key);
  if (v == NULL) {
    if (required)
      die_fail(EINVAL, "%s.%s is required", where, key);
    return NULL;
  }
  if (v->type != JSON_OBJECT)
    die_fail(EINVAL, "%s.%s: expected an object", where, key);
  return v;
}

static const char *spec_string(const struct json *obj, const char *key, const char *where, bool required)
{
  const struct json *v = json_member(obj, key);
  if (v == NULL) {
    if (required)
      die_fail(EINVAL, "%s.%s is required", where, key);
    return NULL;
  }
  if (v->type != JSON_STRING)
    die_fail(EINVAL, "%s.%s: expected a string", where, key);
  return v->string;
}

static bool spec_bool(const struct json *obj, const char *key, const char *where, bool dflt)
{
  const struct json *v = json_member(obj, key);
  if (v == NULL)
    return dflt;
  if (v->type != JSON_TRUE && v->type != JSON_FALSE)
    die_fail(EINVAL, "%s.%s: expected true or false", where, key);
  return v->type == JSON_TRUE;
}

/* An integer in [min, max], exactly representable. */
static bool spec_uint(const struct json *obj, const char *key, const char *where, uint64_t min, uint64_t max,
                      uint64_t *out)
{
  const struct json *v = json_member(obj, key);
  if (v == NULL)
    return false;
  if (v->type != JSON_NUMBER || v->number != floor(v->number) || v->number < (double)min ||
      v->number > (double)max || v->number > 9007199254740992.0)
    die_fail(EINVAL, "%s.%s: expected an integer from %llu to %llu", where, key,
            (unsigned long long)min, (unsigned long long)max);
  *out = (uint64_t)v->number;
  return true;
}

static const char *spec_enum(const struct json *obj, const char *key, const char *where, const char *const *values,
                             int *out)
{
  const char *s = spec_string(obj, key, where, false);
  if (s == NULL)
    return NULL;
  for (int i = 0; values[i]; i++)
    if (strcmp(s, values[i]) == 0) {
      *out = i;
      return s;
    }
  die_fail(EINVAL, "%s.%s: unknown value \"%s\"", where, key, s);
}

static const char **spec_string_array(const struct json *obj, const char *key, const char *where, bool required,
                                      size_t *count)
{
  const struct json *v = json_member(obj, key);
  *count = 0;
  if (v == NULL) {
    if (required)
      die_fail(EINVAL, "%s.%s is required", where, key);
    const char **empty = xcalloc(1, sizeof(char *));
    return empty;
  }
  if (v->type != JSON_ARRAY)
    die_fail(EINVAL, "%s.%s: expected an array of strings", where, key);
  const char **out = xcalloc(v->n + 1, sizeof(char *));
  for (size_t i = 0; i < v->n; i++) {
    if (v->items[i].type != JSON_STRING)
      die_fail(EINVAL, "%s.%s[%zu]: expected a string", where, key, i);
    out[i] = v->items[i].string;
  }
  *count = v->n;
  return out;
}

static const char *spec_host_path(const char *path, const char *what)
{
  if (path[0] != '/')
    die_fail(EINVAL, "%s: \"%s\" is not an absolute path", what, path);
  if (path_has_dotdot(path))
    die_fail(EINVAL, "%s: \"%s\" contains \"..\"", what, path);
  return path;
}

static char *spec_sandbox_path(const char *path, const char *what)
{
  if (path[0] != '/')
    die_fail(EINVAL, "%s: \"%s\" is not an absolute path", what, path);
  return path_normalize(path);
}

/* network.interface {"name", "address": "A.B.C.D/N", "gateway"}: IPv4
 * settings the helper applies inside the joined namespace before the
 * sandbox starts, so the command never sees the interface unconfigured. */
static void spec_interface(const struct json *iface, struct sandbox_config *cfg)
{
  static const char *const keys[] = {"name", "address", "gateway", NULL};
  const char *where = "spec.network.interface";
  spec_check_keys(iface, where, keys);
  cfg->if_name = spec_string(iface, "name", where, true);
  if (strlen(cfg->if_name) == 0 || strlen(cfg->if_name) >= IFNAMSIZ || strchr(cfg->if_name, '/') != NULL)
    die_fail(EINVAL, "%s.name: \"%s\" is not an interface name", where, cfg->if_name);
  const char *addr = spec_string(iface, "address", where, true);
  char buf[INET_ADDRSTRLEN + 4];
  const char *slash = strchr(addr, '/');
  char *end = NULL;
  unsigned long prefix = slash ? strtoul(slash + 1, &end, 10) : 99;
  if (slash == NULL || (size_t)(slash - addr) >= INET_ADDRSTRLEN || slash[1] == '\0' || *end != '\0' || prefix > 32)
    die_fail(EINVAL, "%s.address: \"%s\" is not ADDRESS/PREFIX", where, addr);
  memcpy(buf, addr, (size_t)(slash - addr));
  buf[slash - addr] = '\0';
  if (inet_pton(AF_INET, buf, &cfg->if_addr) != 1)
    die_fail(EINVAL, "%s.address: \"%s\" is not an IPv4 address", where, buf);
  cfg->if_prefix = (unsigned)prefix;
  const char *gw = spec_string(iface, "gateway", where, false);
  if (gw != NULL) {
    if (inet_pton(AF_INET, gw, &cfg->if_gateway) != 1)
      die_fail(EINVAL, "%s.gateway: \"%s\" is not an IPv4 address", where, gw);
    cfg->if_has_gateway = true;
  }
}

/* The process fields `run` and `exec` share: what runs, as whom, with
 * which privileges and stdio. */
static void spec_parse_process(const struct json *root, struct sandbox_config *cfg)
{
  static const char *const caps_values[] = {"default", "all", NULL};
  static const char *const stdin_values[] = {"null", "inherit", NULL};

  size_t n;
  cfg->args = spec_string_array(root, "args", "spec", true, &n);
  if (n == 0 || cfg->args[0][0] == '\0')
    die_fail(EINVAL, "spec.args: a command is needed");
  cfg->env = spec_string_array(root, "env", "spec", false, &n);
  const char *cwd = spec_string(root, "cwd", "spec", false);
  cfg->cwd = spec_sandbox_path(cwd ? cwd : "/", "spec.cwd");

  uint64_t v;
  if (spec_uint(root, "uid", "spec", 0, UINT32_MAX - 1, &v))
    cfg->uid = (uid_t)v;
  if (spec_uint(root, "gid", "spec", 0, UINT32_MAX - 1, &v))
    cfg->gid = (gid_t)v;
  const struct json *groups = json_member(root, "groups");
  if (groups != NULL) {
    if (groups->type != JSON_ARRAY)
      die_fail(EINVAL, "spec.groups: expected an array of numbers");
    cfg->groups = xcalloc(groups->n, sizeof *cfg->groups);
    cfg->n_groups = groups->n;
    for (size_t i = 0; i < groups->n; i++) {
      const struct json *g = &groups->items[i];
      if (g->type != JSON_NUMBER || g->number != floor(g->number) || g->number < 0 ||
          g->number > (double)(UINT32_MAX - 1))
        die_fail(EINVAL, "spec.groups[%zu]: expected a numeric gid", i);
      cfg->groups[i] = (gid_t)g->number;
    }
  }
  int e = CAPS_DEFAULT;
  spec_enum(root, "capabilities", "spec", caps_values, &e);
  cfg->caps = (enum caps_mode)e;
  cfg->seccomp = spec_bool(root, "seccomp", "spec", true);
  e = STDIN_NULL;
  spec_enum(root, "stdin", "spec", stdin_values, &e);
  cfg->stdin_mode = (enum stdin_mode)e;

  /* {"rows": R, "cols": C}: a pty allocated in the sandbox's devpts is the
   * command's controlling terminal and stdio; the helper relays it. */
  const struct json *tty = spec_object(root, "tty", "spec", false);
  if (tty != NULL) {
    static const char *const keys[] = {"rows", "cols", NULL};
    spec_check_keys(tty, "spec.tty", keys);
    uint64_t size;
    cfg->tty = true;
    if (spec_uint(tty, "rows", "spec.tty", 0, 65535, &size))
      cfg->tty_rows = (unsigned)size;
    if (spec_uint(tty, "cols", "spec.tty", 0, 65535, &size))
      cfg->tty_cols = (unsigned)size;
  }
}

/* `exec`: a process joining a running sandbox (its namespaces and cgroup
 * come from the target pid, not from the spec). */
static void exec_spec_parse(const struct json *root, struct sandbox_config *cfg)
{
  static const char *const keys[] = {"args", "env", "cwd", "uid", "gid", "groups", "capabilities", "seccomp",
                                     "stdin", "tty", NULL};
  set_stage("spec");
  memset(cfg, 0, sizeof *cfg);
  if (root->type != JSON_OBJECT)
    die_fail(EINVAL, "spec: expected a JSON object");
  spec_check_keys(root, "spec", keys);
  spec_parse_process(root, cfg);
}

static void spec_parse(const struct json *root, struct sandbox_config *cfg)
{
  static const char *const top_keys[] = {"rootfs", "mounts", "args", "env", "cwd", "uid", "gid", "groups",
                                         "hostname", "network", "limits", "cgroup_parent", "etc",
                                         "capabilities", "seccomp", "stdin", "tty", NULL};
  static const char *const network_values[] = {"none", "host", "default", NULL};

  set_stage("spec");
  memset(cfg, 0, sizeof *cfg);
  if (root->type != JSON_OBJECT)
    die_fail(EINVAL, "spec: expected a JSON object");
  spec_check_keys(root, "spec", top_keys);

  const struct json *rootfs = spec_object(root, "rootfs", "spec", true);
  if (json_member(rootfs, "dir") != NULL) {
    static const char *const keys[] = {"dir", "readonly", NULL};
    spec_check_keys(rootfs, "spec.rootfs", keys);
    cfg->rootfs = ROOTFS_DIR;
    cfg->dir = spec_host_path(spec_string(rootfs, "dir", "spec.rootfs", true), "spec.rootfs.dir");
    cfg->root_readonly = spec_bool(rootfs, "readonly", "spec.rootfs", false);
  } else {
    static const char *const keys[] = {"lower", "upper", "work", "readonly", NULL};
    spec_check_keys(rootfs, "spec.rootfs", keys);
    cfg->rootfs = ROOTFS_OVERLAY;
    cfg->root_readonly = spec_bool(rootfs, "readonly", "spec.rootfs", false);
    cfg->lower = spec_string_array(rootfs, "lower", "rootfs", true, &cfg->n_lower);
    if (cfg->n_lower == 0)
      die_fail(EINVAL, "spec.rootfs.lower: at least one lower directory is needed");
    if (cfg->n_lower > OVERLAY_MAX_LOWER)
      die_fail(E2BIG, "spec.rootfs.lower: %zu directories; overlayfs stacks at most %d", cfg->n_lower,
              OVERLAY_MAX_LOWER);
    for (size_t i = 0; i < cfg->n_lower; i++)
      spec_host_path(cfg->lower[i], "spec.rootfs.lower");
    cfg->upper = spec_host_path(spec_string(rootfs, "upper", "spec.rootfs", true), "spec.rootfs.upper");
    cfg->work = spec_host_path(spec_string(rootfs, "work", "spec.rootfs", true), "spec.rootfs.work");
  }

  const struct json *mounts = json_member(root, "mounts");
  if (mounts != NULL) {
    if (mounts->type != JSON_ARRAY)
      die_fail(EINVAL, "spec.mounts: expected an array");
    cfg->mounts = xcalloc(mounts->n, sizeof *cfg->mounts);
    cfg->n_mounts = mounts->n;
    for (size_t i = 0; i < mounts->n; i++) {
      const struct json *m = &mounts->items[i];
      struct mount_spec *ms = &cfg->mounts[i];
      char where[40];
      snprintf(where, sizeof where, "spec.mounts[%zu]", i);
      if (m->type != JSON_OBJECT)
        die_fail(EINVAL, "%s: expected an object", where);
      const char *type = spec_string(m, "type", where, true);
      ms->target = spec_sandbox_path(spec_string(m, "target", where, true), where);
      if (strcmp(ms->target, "/") == 0)
        die_fail(EINVAL, "%s: cannot mount over /", where);
      if (strcmp(type, "bind") == 0) {
        static const char *const keys[] = {"type", "source", "target", "readonly", NULL};
        spec_check_keys(m, where, keys);
        ms->kind = MOUNT_BIND;
        ms->source = spec_host_path(spec_string(m, "source", where, true), where);
        ms->readonly = spec_bool(m, "readonly", where, false);
      } else if (strcmp(type, "tmpfs") == 0) {
        static const char *const keys[] = {"type", "target", "size", "mode", NULL};
        spec_check_keys(m, where, keys);
        ms->kind = MOUNT_TMPFS;
        uint64_t v;
        if (spec_uint(m, "size", where, 0, UINT64_MAX, &v))
          ms->size = v;
        if (spec_uint(m, "mode", where, 0, 07777, &v)) {
          ms->mode = (unsigned)v;
          ms->has_mode = true;
        }
      } else {
        die_fail(EINVAL, "%s.type: unknown mount type \"%s\"", where, type);
      }
    }
  }

  spec_parse_process(root, cfg);
  cfg->hostname = spec_string(root, "hostname", "spec", false);
  if (cfg->hostname != NULL && (strlen(cfg->hostname) == 0 || strlen(cfg->hostname) > 64))
    die_fail(EINVAL, "spec.hostname: must be 1 to 64 bytes");

  int e = NETWORK_NONE;
  const struct json *network = json_member(root, "network");
  if (network != NULL && network->type == JSON_OBJECT) {
    static const char *const keys[] = {"netns", "interface", NULL};
    spec_check_keys(network, "spec.network", keys);
    cfg->network = NETWORK_NETNS;
    cfg->netns = spec_host_path(spec_string(network, "netns", "spec.network", true), "spec.network.netns");
    const struct json *iface = spec_object(network, "interface", "spec.network", false);
    if (iface != NULL)
      spec_interface(iface, cfg);
  } else {
    spec_enum(root, "network", "spec", network_values, &e);
    cfg->network = (enum network_mode)e;
  }

  const struct json *limits = spec_object(root, "limits", "spec", false);
  if (limits != NULL) {
    static const char *const keys[] = {"memory", "cpus", "pids", NULL};
    spec_check_keys(limits, "spec.limits", keys);
    cfg->has_memory = spec_uint(limits, "memory", "spec.limits", 1, UINT64_MAX, &cfg->memory);
    cfg->has_pids = spec_uint(limits, "pids", "spec.limits", 1, INT32_MAX, &cfg->pids);
    const struct json *cpus = json_member(limits, "cpus");
    if (cpus != NULL) {
      if (cpus->type != JSON_NUMBER || !(cpus->number > 0) || cpus->number > 1e6)
        die_fail(EINVAL, "spec.limits.cpus: expected a positive number");
      cfg->cpus = cpus->number;
      cfg->has_cpus = true;
    }
  }
  cfg->cgroup_parent = spec_string(root, "cgroup_parent", "spec", false);
  if (cfg->cgroup_parent == NULL)
    cfg->cgroup_parent = "tsbuild";
  if (cfg->cgroup_parent[0] == '\0' || path_has_dotdot(cfg->cgroup_parent) ||
      strchr(cfg->cgroup_parent, '\n') != NULL)
    die_fail(EINVAL, "spec.cgroup_parent: \"%s\" is not a valid cgroup path", cfg->cgroup_parent);

  const struct json *etc = spec_object(root, "etc", "spec", false);
  if (etc != NULL) {
    static const char *const keys[] = {"hosts", "hostname", "resolv_conf", NULL};
    spec_check_keys(etc, "spec.etc", keys);
    cfg->etc_hosts = spec_string(etc, "hosts", "spec.etc", false);
    cfg->etc_hostname = spec_string(etc, "hostname", "spec.etc", false);
    cfg->etc_resolv_conf = spec_string(etc, "resolv_conf", "spec.etc", false);
  }
}

/* The config borrows its strings from the JSON tree; this frees its own arrays. */
__attribute__((unused)) /* the helper keeps its config until exit; the unit tests free it */
static void config_free(struct sandbox_config *cfg)
{
  free(cfg->lower);
  for (size_t i = 0; i < cfg->n_mounts; i++)
    free(cfg->mounts[i].target);
  free(cfg->mounts);
  free(cfg->args);
  free(cfg->env);
  free(cfg->cwd);
  free(cfg->groups);
  memset(cfg, 0, sizeof *cfg);
}

/* ------------------------------------------------------------------------
 * Setup operations (what init mounts, in order)
 * --------------------------------------------------------------------- */

enum setup_op_kind {
  OP_PROC,          /* fresh procfs */
  OP_SYS,           /* fresh sysfs, read-only */
  OP_DEV,           /* tmpfs /dev with device binds, pts, shm, mqueue, links */
  OP_BIND,          /* spec bind mount */
  OP_TMPFS,         /* spec tmpfs */
  OP_ETC_FILE,      /* generated /etc file, bound read-only */
  OP_MASK,          /* /dev/null over a file, empty ro tmpfs over a dir */
  OP_READONLY,      /* bind a path onto itself read-only */
  OP_MKDIR,         /* the working directory */
  OP_ROOT_READONLY, /* rootfs.readonly: the root mount itself, last */
};

struct setup_op {
  enum setup_op_kind kind;
  const char *target;  /* inside the rootfs, absolute */
  const char *source;  /* OP_BIND: host path; OP_ETC_FILE: staging file name */
  const char *data;    /* OP_ETC_FILE: file contents */
  bool readonly;
  uint64_t size;
  unsigned mode;
  bool has_mode;
};

/* The paths docker masks and makes read-only (moby oci/defaults.go). */
static const char *const MASKED_PATHS[] = {
    "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
    "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
};
static const char *const READONLY_PATHS[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

static size_t setup_ops_build(const struct sandbox_config *cfg, struct setup_op **out)
{
  size_t cap = 8 + cfg->n_mounts + N_ELEMENTS(MASKED_PATHS) + N_ELEMENTS(READONLY_PATHS);
  struct setup_op *ops = xcalloc(cap, sizeof *ops);
  size_t n = 0;
  ops[n++] = (struct setup_op){.kind = OP_PROC, .target = "/proc"};
  ops[n++] = (struct setup_op){.kind = OP_SYS, .target = "/sys"};
  ops[n++] = (struct setup_op){.kind = OP_DEV, .target = "/dev"};
  for (size_t i = 0; i < cfg->n_mounts; i++) {
    const struct mount_spec *m = &cfg->mounts[i];
    switch (m->kind) {
    case MOUNT_BIND:
      ops[n++] = (struct setup_op){.kind = OP_BIND, .target = m->target, .source = m->source, .readonly = m->readonly};
      break;
    case MOUNT_TMPFS:
      ops[n++] = (struct setup_op){
          .kind = OP_TMPFS, .target = m->target, .size = m->size, .mode = m->mode, .has_mode = m->has_mode};
      break;
    }
  }
  if (cfg->etc_hosts)
    ops[n++] = (struct setup_op){.kind = OP_ETC_FILE, .target = "/etc/hosts", .source = "hosts", .data = cfg->etc_hosts};
  if (cfg->etc_hostname)
    ops[n++] = (struct setup_op){
        .kind = OP_ETC_FILE, .target = "/etc/hostname", .source = "hostname", .data = cfg->etc_hostname};
  if (cfg->etc_resolv_conf)
    ops[n++] = (struct setup_op){
        .kind = OP_ETC_FILE, .target = "/etc/resolv.conf", .source = "resolv.conf", .data = cfg->etc_resolv_conf};
  for (size_t i = 0; i < N_ELEMENTS(MASKED_PATHS); i++)
    ops[n++] = (struct setup_op){.kind = OP_MASK, .target = MASKED_PATHS[i]};
  for (size_t i = 0; i < N_ELEMENTS(READONLY_PATHS); i++)
    ops[n++] = (struct setup_op){.kind = OP_READONLY, .target = READONLY_PATHS[i]};
  ops[n++] = (struct setup_op){.kind = OP_MKDIR, .target = cfg->cwd};
  if (cfg->root_readonly)
    ops[n++] = (struct setup_op){.kind = OP_ROOT_READONLY, .target = "/"};
  *out = ops;
  return n;
}

/* ------------------------------------------------------------------------
 * overlayfs options (pure)
 * --------------------------------------------------------------------- */

/* overlayfs splits its option string on ',' and lowerdir on ':'; a
 * backslash escapes either (and itself). */
static void overlay_escape(struct strbuf *b, const char *path)
{
  for (const char *p = path; *p; p++) {
    if (*p == ',' || *p == ':' || *p == '\\')
      sb_addc(b, '\\');
    sb_addc(b, *p);
  }
}

/* "lowerdir=P+l0:P+l1,upperdir=P+u,workdir=P+w" */
static char *overlay_options(const char *const *lower, size_t n, const char *upper, const char *work,
                             const char *prefix)
{
  struct strbuf b = {0};
  sb_add(&b, "lowerdir=");
  for (size_t i = 0; i < n; i++) {
    if (i)
      sb_addc(&b, ':');
    overlay_escape(&b, prefix);
    overlay_escape(&b, lower[i]);
  }
  sb_add(&b, ",upperdir=");
  overlay_escape(&b, prefix);
  overlay_escape(&b, upper);
  sb_add(&b, ",workdir=");
  overlay_escape(&b, prefix);
  overlay_escape(&b, work);
  return b.s;
}

/* Short names for layer symlinks: base 36, "0".."dv" for 500 layers. */
static void layer_link_name(size_t i, char out[16])
{
  char tmp[16];
  size_t n = 0;
  do {
    tmp[n++] = "0123456789abcdefghijklmnopqrstuvwxyz"[i % 36];
    i /= 36;
  } while (i && n < sizeof tmp - 1);
  for (size_t k = 0; k < n; k++)
    out[k] = tmp[n - 1 - k];
  out[n] = '\0';
}

/* ------------------------------------------------------------------------
 * Capabilities (pure part)
 * --------------------------------------------------------------------- */

/* Docker's default set (moby oci/caps/defaults.go). */
static const int DEFAULT_CAPS[] = {
    CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FSETID,       CAP_FOWNER,     CAP_MKNOD, CAP_NET_RAW,
    CAP_SETGID, CAP_SETUID,      CAP_SETFCAP,      CAP_SETPCAP,    CAP_NET_BIND_SERVICE,
    CAP_SYS_CHROOT, CAP_KILL,    CAP_AUDIT_WRITE,
};

static uint64_t default_capability_mask(void)
{
  uint64_t mask = 0;
  for (size_t i = 0; i < N_ELEMENTS(DEFAULT_CAPS); i++)
    mask |= UINT64_C(1) << DEFAULT_CAPS[i];
  return mask;
}

/* cpu.max / cfs_quota_us for a float CPU count; the kernel's minimum is 1 ms. */
static long cpu_quota_us(double cpus, long period)
{
  double q = cpus * (double)period;
  if (q < 1000)
    q = 1000;
  if (q > (double)LONG_MAX / 2)
    q = (double)LONG_MAX / 2;
  return (long)llround(q);
}

/* Exit status for a wait status: the code, or 128+N for signal N. */
static void wait_status_decode(int ws, int *status, int *sig)
{
  if (WIFSIGNALED(ws)) {
    *sig = WTERMSIG(ws);
    *status = 128 + *sig;
  } else {
    *sig = 0;
    *status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 255;
  }
}

/* ------------------------------------------------------------------------
 * cgroups
 * --------------------------------------------------------------------- */

/* The cgroup path of this process in one hierarchy, from the text of
 * /proc/self/cgroup. `controller` NULL means the v2 line ("0::/path"). */
static char *cgroup_own_path(const char *text, const char *controller)
{
  const char *line = text;
  while (line && *line) {
    const char *eol = strchr(line, '\n');
    size_t len = eol ? (size_t)(eol - line) : strlen(line);
    const char *c1 = memchr(line, ':', len);
    const char *c2 = c1 ? memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - line)) : NULL;
    if (c1 && c2) {
      const char *list = c1 + 1;
      size_t list_len = (size_t)(c2 - list);
      bool match = false;
      if (controller == NULL) {
        match = (c1 - line == 1 && line[0] == '0' && list_len == 0);
      } else {
        size_t cl = strlen(controller);
        const char *p = list;
        while (p < c2) {
          const char *comma = memchr(p, ',', (size_t)(c2 - p));
          const char *e = comma ? comma : c2;
          if ((size_t)(e - p) == cl && memcmp(p, controller, cl) == 0)
            match = true;
          p = e + 1;
        }
      }
      if (match) {
        size_t plen = len - (size_t)(c2 + 1 - line);
        char *path = xmalloc(plen + 1);
        memcpy(path, c2 + 1, plen);
        path[plen] = '\0';
        return path;
      }
    }
    line = eol ? eol + 1 : NULL;
  }
  return NULL;
}

/* Where the leaf's parent goes: `parent` absolute is taken from the
 * hierarchy root, relative is below the helper's own cgroup. */
static char *cgroup_base(const char *own, const char *parent)
{
  char *joined = parent[0] == '/' ? xstrdup(parent) : path_join(own, parent);
  char *norm = path_normalize(joined);
  free(joined);
  return norm;
}

#define CG_MAX 4

struct cgroup_leaf {
  char *mount;   /* hierarchy mount point */
  char *base;    /* cgroup path of the parent, e.g. /tsbuild */
  char *path;    /* absolute directory of the leaf */
  int fd;        /* O_DIRECTORY fd of the leaf, -1 when not created */
  bool created;
};

struct cgroup_set {
  bool v2;
  struct cgroup_leaf leaf[CG_MAX];
  size_t n;
  int memory, cpu, cpuacct, pids; /* indices into leaf[] */
  int current_fd;                  /* v2 without memory.peak: memory.current */
  uint64_t current_max;
};

struct cgroup_stats {
  bool has_peak, has_cpu;
  uint64_t peak, cpu_usec;
  bool oom;
};

static char *read_file_at(int dirfd, const char *name, size_t max)
{
  cleanup_fd int fd = TFR(openat(dirfd, name, O_RDONLY | O_CLOEXEC));
  if (fd < 0)
    return NULL;
  char *buf = xmalloc(max + 1);
  ssize_t n = read_full(fd, buf, max);
  if (n < 0) {
    int saved = errno;
    free(buf);
    errno = saved;
    return NULL;
  }
  buf[n] = '\0';
  return buf;
}

static bool has_word(const char *list, const char *word)
{
  size_t wl = strlen(word);
  for (const char *p = list; *p;) {
    while (*p == ' ' || *p == '\n')
      p++;
    const char *s = p;
    while (*p && *p != ' ' && *p != '\n')
      p++;
    if ((size_t)(p - s) == wl && memcmp(s, word, wl) == 0)
      return true;
  }
  return false;
}

/* The value after "key " in a flat-keyed file (memory.events, cpu.stat). */
static bool keyed_value(const char *text, const char *key, uint64_t *out)
{
  size_t kl = strlen(key);
  for (const char *line = text; line && *line;) {
    if (strncmp(line, key, kl) == 0 && line[kl] == ' ') {
      *out = strtoull(line + kl + 1, NULL, 10);
      return true;
    }
    line = strchr(line, '\n');
    if (line)
      line++;
  }
  return false;
}

static bool is_fs(const char *path, long magic)
{
  struct statfs sf;
  return statfs(path, &sf) == 0 && (long)sf.f_type == magic;
}

static void cgroup_write(struct cgroup_leaf *l, const char *file, const char *value)
{
  cleanup_fd int fd = TFR(openat(l->fd, file, O_WRONLY | O_CLOEXEC));
  if (fd < 0)
    die_errno("open", "open %s/%s", l->path, file);
  if (!write_all(fd, value, strlen(value)))
    die_errno("write", "write \"%s\" to %s/%s", value, l->path, file);
}

static bool cgroup_has(struct cgroup_leaf *l, const char *file)
{
  return faccessat(l->fd, file, F_OK, 0) == 0;
}

/* cgroup v2: a pure v2 host mounts it at /sys/fs/cgroup, a hybrid one at
 * /sys/fs/cgroup/unified. */
static const char *cgroup_v2_fs(void)
{
  return is_fs("/sys/fs/cgroup", CGROUP2_SUPER_MAGIC)           ? "/sys/fs/cgroup"
         : is_fs("/sys/fs/cgroup/unified", CGROUP2_SUPER_MAGIC) ? "/sys/fs/cgroup/unified"
                                                                : NULL;
}

/* v2 is used when memory, cpu and pids are all in its root's controllers. */
static bool cgroup_v2_usable(const char *v2)
{
  static const char *const needed[] = {"memory", "cpu", "pids"};
  cleanup_free char *ctl_path = path_join(v2, "cgroup.controllers");
  cleanup_free char *ctl = read_file_at(AT_FDCWD, ctl_path, 4096);
  bool all = ctl != NULL;
  for (size_t i = 0; all && i < N_ELEMENTS(needed); i++)
    all = has_word(ctl, needed[i]);
  return all;
}

/* Decides v1 or v2 and computes the leaf paths; creates nothing. */
static void cgroup_plan(const struct sandbox_config *cfg, struct cgroup_set *cg)
{
  memset(cg, 0, sizeof *cg);
  cg->current_fd = -1;
  for (size_t i = 0; i < CG_MAX; i++)
    cg->leaf[i].fd = -1;

  cleanup_free char *self = read_file_at(AT_FDCWD, "/proc/self/cgroup", 65536);
  if (self == NULL)
    die_errno("open", "read /proc/self/cgroup");
  unsigned char rnd[8];
  if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
    die_errno("getrandom", "random cgroup name");
  char id[17];
  for (size_t i = 0; i < sizeof rnd; i++)
    snprintf(id + 2 * i, 3, "%02x", rnd[i]);

  const char *v2 = cgroup_v2_fs();
  char *own_v2 = cgroup_own_path(self, NULL);
  if (v2 != NULL && own_v2 != NULL) {
    if (cgroup_v2_usable(v2)) {
      cg->v2 = true;
      cg->n = 1;
      cg->leaf[0].mount = xstrdup(v2);
      cg->leaf[0].base = cgroup_base(own_v2, cfg->cgroup_parent);
      cleanup_free char *rel = path_join(cg->leaf[0].base, id);
      cg->leaf[0].path = path_join(v2, rel);
      free(own_v2);
      return;
    }
  }
  free(own_v2);

  /* cgroup v1: one directory per hierarchy; cpu and cpuacct may share one. */
  static const char *const v1[] = {"memory", "cpu", "cpuacct", "pids"};
  dev_t devs[CG_MAX];
  int *slot[] = {&cg->memory, &cg->cpu, &cg->cpuacct, &cg->pids};
  for (size_t i = 0; i < N_ELEMENTS(v1); i++) {
    cleanup_free char *mount = xasprintf("/sys/fs/cgroup/%s", v1[i]);
    struct stat st;
    if (!is_fs(mount, CGROUP_SUPER_MAGIC) || stat(mount, &st) < 0)
      die_fail(ENOENT,
              "cgroup controller %s is not available: not enabled in cgroup v2 (%s) and no v1 hierarchy at %s",
              v1[i], v2 ? v2 : "not mounted", mount);
    size_t k;
    for (k = 0; k < cg->n; k++)
      if (devs[k] == st.st_dev)
        break;
    if (k == cg->n) {
      char *own = cgroup_own_path(self, v1[i]);
      if (own == NULL)
        die_fail(ENOENT, "cgroup controller %s: not listed in /proc/self/cgroup", v1[i]);
      devs[k] = st.st_dev;
      cg->leaf[k].mount = xstrdup(mount);
      cg->leaf[k].base = cgroup_base(own, cfg->cgroup_parent);
      cleanup_free char *rel = path_join(cg->leaf[k].base, id);
      cg->leaf[k].path = path_join(mount, rel);
      free(own);
      cg->n++;
    }
    *slot[i] = (int)k;
  }
}

/* v2: controllers must be enabled in every ancestor's subtree_control. */
static void cgroup_v2_enable(struct cgroup_leaf *l)
{
  static const char *const needed[] = {"memory", "cpu", "pids"};
  cleanup_free char *dir = xstrdup(l->mount);
  const char *p = l->base;
  for (;;) {
    cleanup_free char *file = path_join(dir, "cgroup.subtree_control");
    cleanup_free char *cur = read_file_at(AT_FDCWD, file, 4096);
    if (cur == NULL)
      die_errno("open", "read %s", file);
    struct strbuf want = {0};
    for (size_t i = 0; i < N_ELEMENTS(needed); i++)
      if (!has_word(cur, needed[i]))
        sb_printf(&want, "%s+%s", want.len ? " " : "", needed[i]);
    if (want.len) {
      cleanup_fd int fd = TFR(open(file, O_WRONLY | O_CLOEXEC));
      if (fd < 0 || !write_all(fd, want.s, want.len)) {
        if (errno == EBUSY)
          die_errno("write",
                    "enable %s in %s: the cgroup has member processes (cgroup v2 allows controllers only in "
                    "cgroups without them); run tsbuild in its own cgroup or use an absolute cgroup_parent",
                    want.s, file);
        die_errno("write", "enable %s in %s", want.s, file);
      }
    }
    free(want.s);
    while (*p == '/')
      p++;
    if (*p == '\0')
      break;
    const char *s = p;
    while (*p && *p != '/')
      p++;
    char *next = xasprintf("%s/%.*s", dir, (int)(p - s), s);
    free(dir);
    dir = next;
  }
}

static void mkdir_p(const char *path)
{
  cleanup_free char *copy = xstrdup(path);
  for (char *p = copy + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir(copy, 0755) < 0 && errno != EEXIST)
      die_errno("mkdir", "mkdir %s", copy);
    *p = '/';
  }
  if (mkdir(copy, 0755) < 0 && errno != EEXIST)
    die_errno("mkdir", "mkdir %s", copy);
}

static void cgroup_create(const struct sandbox_config *cfg, struct cgroup_set *cg)
{
  char buf[64];
  for (size_t i = 0; i < cg->n; i++) {
    struct cgroup_leaf *l = &cg->leaf[i];
    cleanup_free char *base = path_join(l->mount, l->base);
    mkdir_p(base);
    if (cg->v2)
      cgroup_v2_enable(l);
    if (mkdir(l->path, 0755) < 0)
      die_errno("mkdir", "mkdir %s", l->path);
    l->created = true;
    l->fd = TFR(open(l->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (l->fd < 0)
      die_errno("open", "open %s", l->path);
  }
  struct cgroup_leaf *mem = &cg->leaf[cg->memory];
  struct cgroup_leaf *cpu = &cg->leaf[cg->cpu];
  struct cgroup_leaf *pids = &cg->leaf[cg->pids];
  if (cg->v2) {
    if (cfg->has_memory) {
      snprintf(buf, sizeof buf, "%llu", (unsigned long long)cfg->memory);
      cgroup_write(mem, "memory.max", buf);
      if (cgroup_has(mem, "memory.swap.max"))
        cgroup_write(mem, "memory.swap.max", "0");
    }
    if (cfg->has_cpus) {
      snprintf(buf, sizeof buf, "%ld %ld", cpu_quota_us(cfg->cpus, CPU_PERIOD_US), CPU_PERIOD_US);
      cgroup_write(cpu, "cpu.max", buf);
    }
    if (cfg->has_pids) {
      snprintf(buf, sizeof buf, "%llu", (unsigned long long)cfg->pids);
      cgroup_write(pids, "pids.max", buf);
    }
    if (!cgroup_has(mem, "memory.peak")) {
      cg->current_fd = TFR(openat(mem->fd, "memory.current", O_RDONLY | O_CLOEXEC));
      if (cg->current_fd < 0)
        die_errno("open", "open %s/memory.current", mem->path);
    }
  } else {
    if (cfg->has_memory) {
      snprintf(buf, sizeof buf, "%llu", (unsigned long long)cfg->memory);
      cgroup_write(mem, "memory.limit_in_bytes", buf);
      /* memsw ≥ limit, so it goes second; absent without swap accounting. */
      if (cgroup_has(mem, "memory.memsw.limit_in_bytes"))
        cgroup_write(mem, "memory.memsw.limit_in_bytes", buf);
    }
    if (cfg->has_cpus) {
      snprintf(buf, sizeof buf, "%ld", CPU_PERIOD_US);
      cgroup_write(cpu, "cpu.cfs_period_us", buf);
      snprintf(buf, sizeof buf, "%ld", cpu_quota_us(cfg->cpus, CPU_PERIOD_US));
      cgroup_write(cpu, "cpu.cfs_quota_us", buf);
    }
    if (cfg->has_pids) {
      snprintf(buf, sizeof buf, "%llu", (unsigned long long)cfg->pids);
      cgroup_write(pids, "pids.max", buf);
    }
  }
}

static void cgroup_attach(struct cgroup_set *cg, pid_t pid)
{
  char buf[32];
  snprintf(buf, sizeof buf, "%d", (int)pid);
  for (size_t i = 0; i < cg->n; i++)
    cgroup_write(&cg->leaf[i], "cgroup.procs", buf);
}

static void cgroup_sample(struct cgroup_set *cg)
{
  if (cg->current_fd < 0)
    return;
  char buf[32];
  ssize_t n = TFR(pread(cg->current_fd, buf, sizeof buf - 1, 0));
  if (n > 0) {
    buf[n] = '\0';
    uint64_t v = strtoull(buf, NULL, 10);
    if (v > cg->current_max)
      cg->current_max = v;
  }
}

/* Figures after the payload ended. A file that cannot be read gives null,
 * not a failure: the command has already run and its status must arrive. */
static void cgroup_collect(struct cgroup_set *cg, struct cgroup_stats *st)
{
  memset(st, 0, sizeof *st);
  struct cgroup_leaf *mem = &cg->leaf[cg->memory];
  uint64_t v;
  if (cg->v2) {
    cleanup_free char *peak = read_file_at(mem->fd, "memory.peak", 64);
    if (peak != NULL) {
      st->peak = strtoull(peak, NULL, 10);
      st->has_peak = true;
    } else if (cg->current_fd >= 0) {
      cgroup_sample(cg);
      st->peak = cg->current_max;
      st->has_peak = true;
    }
    cleanup_free char *events = read_file_at(mem->fd, "memory.events", 4096);
    st->oom = events != NULL && keyed_value(events, "oom_kill", &v) && v > 0;
    cleanup_free char *stat = read_file_at(cg->leaf[cg->cpu].fd, "cpu.stat", 4096);
    if (stat != NULL && keyed_value(stat, "usage_usec", &v)) {
      st->cpu_usec = v;
      st->has_cpu = true;
    }
  } else {
    cleanup_free char *peak = read_file_at(mem->fd, "memory.max_usage_in_bytes", 64);
    if (peak != NULL) {
      st->peak = strtoull(peak, NULL, 10);
      st->has_peak = true;
    }
    cleanup_free char *oom = read_file_at(mem->fd, "memory.oom_control", 4096);
    st->oom = oom != NULL && keyed_value(oom, "oom_kill", &v) && v > 0;
    cleanup_free char *usage = read_file_at(cg->leaf[cg->cpuacct].fd, "cpuacct.usage", 64);
    if (usage != NULL) {
      st->cpu_usec = strtoull(usage, NULL, 10) / 1000;
      st->has_cpu = true;
    }
  }
}

/* Kills whatever is left in the leaves and removes them. Returns false
 * (errno set, *failed_path naming the directory) when one cannot go. */
static bool cgroup_remove(struct cgroup_set *cg, const char **failed_path)
{
  if (cg->current_fd >= 0) {
    close(cg->current_fd);
    cg->current_fd = -1;
  }
  for (size_t i = 0; i < cg->n; i++) {
    struct cgroup_leaf *l = &cg->leaf[i];
    if (!l->created)
      continue;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (unsigned attempt = 0;; attempt++) {
      if (l->fd >= 0) {
        if (cg->v2 && faccessat(l->fd, "cgroup.kill", F_OK, 0) == 0) {
          int fd = TFR(openat(l->fd, "cgroup.kill", O_WRONLY | O_CLOEXEC));
          if (fd >= 0) {
            (void)write_all(fd, "1", 1);
            close(fd);
          }
        } else {
          cleanup_free char *procs = read_file_at(l->fd, "cgroup.procs", 1 << 20);
          for (char *p = procs; p && *p;) {
            long pid = strtol(p, &p, 10);
            if (pid > 0)
              kill((pid_t)pid, SIGKILL);
            while (*p == '\n')
              p++;
          }
        }
      }
      if (rmdir(l->path) == 0 || errno == ENOENT)
        break;
      struct timespec now;
      clock_gettime(CLOCK_MONOTONIC, &now);
      if (errno != EBUSY || now.tv_sec - start.tv_sec > 10) {
        *failed_path = l->path;
        return false;
      }
      struct timespec pause = {0, attempt < 10 ? 200000 : 5000000};
      nanosleep(&pause, NULL);
    }
    if (l->fd >= 0)
      close(l->fd);
    l->fd = -1;
    l->created = false;
  }
  return true;
}

/* ------------------------------------------------------------------------
 * File descriptors
 * --------------------------------------------------------------------- */

/* Closes every fd ≥ 3 except `keep` (-1 for none). close_range, or a walk
 * of /proc/self/fd on kernels before 5.9. */
static void close_fds_except(int keep)
{
  int rc = 0;
  if (keep < 3) {
    rc = close_range(3, ~0U, 0);
  } else {
    if (keep > 3)
      rc = close_range(3, (unsigned)keep - 1, 0);
    if (rc == 0)
      rc = close_range((unsigned)keep + 1, ~0U, 0);
  }
  if (rc == 0)
    return;
  if (errno != ENOSYS)
    die_errno("close_range", "close inherited file descriptors");
  DIR *d = opendir("/proc/self/fd");
  if (d == NULL)
    die_errno("opendir", "opendir /proc/self/fd");
  int fds[1024];
  size_t n = 0;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    int fd = atoi(de->d_name);
    if (fd >= 3 && fd != keep && fd != dirfd(d) && n < N_ELEMENTS(fds))
      fds[n++] = fd;
  }
  closedir(d);
  for (size_t i = 0; i < n; i++)
    close(fds[i]);
  if (n == N_ELEMENTS(fds))
    close_fds_except(keep);
}

/* ------------------------------------------------------------------------
 * Re-exec from a sealed memfd (CVE-2019-5736)
 * --------------------------------------------------------------------- */

/* Everything that runs inside the sandbox (init, and the payload until its
 * execve) is this program. If it ran from the host file, a process in the
 * sandbox could reach that file through /proc/<pid>/exe and overwrite it.
 * So the helper first copies itself into a sealed memfd and re-executes
 * from it: /proc/self/exe is then a write-sealed anonymous file. */
static void reexec_from_sealed_memfd(char **argv)
{
  cleanup_fd int self = TFR(open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (self < 0)
    die_errno("open", "open /proc/self/exe");
  int seals = fcntl(self, F_GET_SEALS);
  if (seals >= 0 && (seals & F_SEAL_WRITE))
    return; /* already the sealed copy */
  int mfd = memfd_create("tsbuild-sandbox", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
  if (mfd < 0 && errno == EINVAL)
    mfd = memfd_create("tsbuild-sandbox", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (mfd < 0)
    die_errno("memfd_create", "memfd_create");
  for (;;) {
    ssize_t n = TFR(sendfile(mfd, self, NULL, 1 << 22));
    if (n < 0)
      die_errno("sendfile", "copy /proc/self/exe into a memfd");
    if (n == 0)
      break;
  }
  if (fcntl(mfd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
    die_errno("fcntl", "seal the memfd");
  extern char **environ;
  fexecve(mfd, argv, environ);
  die_errno("execveat", "re-execute from the sealed memfd");
}

/* ------------------------------------------------------------------------
 * Paths inside the rootfs
 * --------------------------------------------------------------------- */

static int openat2_in_root(int rootfd, const char *rel, int flags)
{
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = (uint64_t)(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  for (int attempt = 0;; attempt++) {
    long fd = syscall(SYS_openat2, rootfd, rel[0] ? rel : ".", &how, sizeof how);
    if (fd >= 0)
      return (int)fd;
    /* EAGAIN: a concurrent rename; EINTR: a signal. */
    if ((errno != EAGAIN && errno != EINTR) || attempt > 64)
      return -1;
  }
}

enum leaf_kind { LEAF_EXISTING, LEAF_DIR, LEAF_FILE };

/* Opens `path` (absolute, normalised, inside the rootfs) as O_PATH, with
 * every symlink resolved inside the rootfs (openat2 RESOLVE_IN_ROOT), and
 * creates what is missing: directories, then the last component as `kind`.
 * Returns -1 with errno set. */
static int open_in_root(int rootfd, const char *path, enum leaf_kind kind)
{
  const char *rel = path + 1;
  int fd = openat2_in_root(rootfd, rel, O_PATH);
  if (fd >= 0 || errno != ENOENT || kind == LEAF_EXISTING)
    return fd;
  cleanup_fd int parent = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
  if (parent < 0)
    return -1;
  size_t len = strlen(rel);
  cleanup_free char *prefix = xmalloc(len + 1);
  for (size_t i = 0; i <= len; i++) {
    if (i < len && rel[i] != '/')
      continue;
    memcpy(prefix, rel, i);
    prefix[i] = '\0';
    size_t start = i;
    while (start > 0 && prefix[start - 1] != '/')
      start--;
    const char *name = prefix + start;
    bool last = i == len;
    int next = openat2_in_root(rootfd, prefix, O_PATH);
    if (next < 0 && errno == ENOENT) {
      int rc;
      if (last && kind == LEAF_FILE) {
        rc = TFR(openat(parent, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644));
        if (rc >= 0)
          close(rc);
      } else {
        rc = mkdirat(parent, name, 0755);
      }
      if (rc < 0 && errno != EEXIST)
        return -1;
      next = openat2_in_root(rootfd, prefix, O_PATH);
    }
    if (next < 0)
      return -1; /* ENOENT here: a dangling symlink */
    close(parent);
    parent = next;
  }
  return steal_fd(&parent);
}

/* ------------------------------------------------------------------------
 * Mounting (new mount API: every mount is attached to an fd, never to a
 * path that could be swapped under us)
 * --------------------------------------------------------------------- */

static void attach_mount(int mntfd, int targetfd, const char *what, const char *target)
{
  if (move_mount(mntfd, "", targetfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    die_errno("move_mount", "mount %s on %s", what, target);
}

static void set_mount_attr(int mntfd, uint64_t attr, bool recursive, const char *what)
{
  struct mount_attr ma;
  memset(&ma, 0, sizeof ma);
  ma.attr_set = attr;
  if (mount_setattr(mntfd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &ma, sizeof ma) < 0)
    die_errno("mount_setattr", "set mount attributes of %s", what);
}

/* The kernel explains fsconfig failures in the context's log. */
static void fs_log(int fsfd, char *buf, size_t size)
{
  buf[0] = '\0';
  ssize_t n = read(fsfd, buf, size - 1);
  if (n > 0) {
    buf[n] = '\0';
    char *nl = strchr(buf, '\n');
    if (nl)
      *nl = '\0';
  }
}

/* A fresh filesystem as a detached mount; `opts` are key=value pairs. */
static int new_fs(const char *fstype, const char *const *opts, uint64_t attr)
{
  cleanup_fd int fsfd = fsopen(fstype, FSOPEN_CLOEXEC);
  if (fsfd < 0)
    die_errno("fsopen", "fsopen %s", fstype);
  char log[256];
  for (size_t i = 0; opts && opts[i]; i += 2) {
    int rc = opts[i + 1] ? fsconfig(fsfd, FSCONFIG_SET_STRING, opts[i], opts[i + 1], 0)
                         : fsconfig(fsfd, FSCONFIG_SET_FLAG, opts[i], NULL, 0);
    if (rc < 0) {
      int err = errno;
      fs_log(fsfd, log, sizeof log);
      die_err(err, "fsconfig", "%s option %s=%s%s%s", fstype, opts[i], opts[i + 1] ? opts[i + 1] : "",
              log[0] ? " — " : "", log);
    }
  }
  if (fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
    int err = errno;
    fs_log(fsfd, log, sizeof log);
    die_err(err, "fsconfig", "create %s%s%s", fstype, log[0] ? " — " : "", log);
  }
  int mfd = fsmount(fsfd, FSMOUNT_CLOEXEC, (unsigned)attr);
  if (mfd < 0)
    die_errno("fsmount", "fsmount %s", fstype);
  return mfd;
}

/* A detached copy of a host (or sandbox) tree, with attributes applied
 * before it becomes visible. */
static int clone_tree(int dirfd, const char *path, bool recursive, uint64_t attr)
{
  unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0);
  if (path[0] == '\0')
    flags |= AT_EMPTY_PATH;
  int fd = open_tree(dirfd, path, flags);
  if (fd < 0)
    die_errno("open_tree", "bind %s", path[0] ? path : "(fd)");
  if (attr)
    set_mount_attr(fd, attr, recursive, path[0] ? path : "bind mount");
  return fd;
}

static const char *strip_oldroot(const char *p)
{
  size_t n = strlen(OLDROOT);
  return strncmp(p, OLDROOT, n) == 0 && p[n] == '/' ? p + n : p;
}

static int target_fd(int rootfd, const char *target, enum leaf_kind kind)
{
  int fd = open_in_root(rootfd, target, kind);
  if (fd < 0)
    die_errno("openat2", "mount point %s in the rootfs", target);
  return fd;
}

static void setup_dev(int rootfd)
{
  static const char *const devices[] = {"null", "zero", "full", "random", "urandom", "tty"};
  static const char *const tmpfs_opts[] = {"mode", "0755", "size", "65536k", NULL};
  static const char *const pts_opts[] = {"newinstance", NULL, "ptmxmode", "0666", "mode", "0620", "gid", "5", NULL};
  static const char *const shm_opts[] = {"mode", "1777", "size", "65536k", NULL};
  static const char *const links[][2] = {
      {"fd", "/proc/self/fd"},          {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"},
      {"stderr", "/proc/self/fd/2"},    {"ptmx", "pts/ptmx"},
  };

  set_stage("mount dev");
  cleanup_fd int target = target_fd(rootfd, "/dev", LEAF_DIR);
  /* nodev: a device node made with CAP_MKNOD on /dev cannot be opened; the
   * allowed devices are bind mounts of the host's nodes. */
  cleanup_fd int dev = new_fs("tmpfs", tmpfs_opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
  attach_mount(dev, target, "tmpfs", "/dev");
  for (size_t i = 0; i < N_ELEMENTS(devices); i++) {
    int fd = TFR(openat(dev, devices[i], O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0666));
    if (fd < 0)
      die_errno("openat", "create /dev/%s", devices[i]);
    close(fd);
    cleanup_free char *host = xasprintf("%s/dev/%s", OLDROOT, devices[i]);
    cleanup_fd int node = clone_tree(AT_FDCWD, host, false, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
    cleanup_fd int at = TFR(openat(dev, devices[i], O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (at < 0)
      die_errno("openat", "open /dev/%s", devices[i]);
    attach_mount(node, at, strip_oldroot(host), devices[i]);
  }
  static const char *const dirs[] = {"pts", "shm", "mqueue"};
  for (size_t i = 0; i < N_ELEMENTS(dirs); i++)
    if (mkdirat(dev, dirs[i], 0755) < 0)
      die_errno("mkdirat", "mkdir /dev/%s", dirs[i]);
  struct {
    const char *dir, *fstype;
    const char *const *opts;
    uint64_t attr;
  } subs[] = {
      {"pts", "devpts", pts_opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC},
      {"shm", "tmpfs", shm_opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC},
      {"mqueue", "mqueue", NULL, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC},
  };
  for (size_t i = 0; i < N_ELEMENTS(subs); i++) {
    cleanup_fd int at = TFR(openat(dev, subs[i].dir, O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (at < 0)
      die_errno("openat", "open /dev/%s", subs[i].dir);
    cleanup_fd int m = new_fs(subs[i].fstype, subs[i].opts, subs[i].attr);
    attach_mount(m, at, subs[i].fstype, subs[i].dir);
  }
  for (size_t i = 0; i < N_ELEMENTS(links); i++)
    if (symlinkat(links[i][1], dev, links[i][0]) < 0)
      die_errno("symlinkat", "symlink /dev/%s", links[i][0]);
}

static void perform_setup_op(int rootfd, const struct setup_op *op)
{
  switch (op->kind) {
  case OP_PROC: {
    set_stage("mount proc");
    cleanup_fd int target = target_fd(rootfd, op->target, LEAF_DIR);
    cleanup_fd int m = new_fs("proc", NULL, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
    attach_mount(m, target, "proc", op->target);
    break;
  }
  case OP_SYS: {
    set_stage("mount sys");
    cleanup_fd int target = target_fd(rootfd, op->target, LEAF_DIR);
    cleanup_fd int m =
        new_fs("sysfs", NULL, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
    attach_mount(m, target, "sysfs", op->target);
    break;
  }
  case OP_DEV:
    setup_dev(rootfd);
    break;
  case OP_BIND: {
    set_stage("mount bind");
    cleanup_free char *source = path_join(OLDROOT, op->source);
    uint64_t attr = MOUNT_ATTR_NODEV | (op->readonly ? MOUNT_ATTR_RDONLY : 0);
    cleanup_fd int m = clone_tree(AT_FDCWD, source, true, attr);
    struct stat st;
    if (fstat(m, &st) < 0)
      die_errno("fstat", "stat %s", op->source);
    cleanup_fd int target = target_fd(rootfd, op->target, S_ISDIR(st.st_mode) ? LEAF_DIR : LEAF_FILE);
    attach_mount(m, target, op->source, op->target);
    break;
  }
  case OP_TMPFS: {
    set_stage("mount tmpfs");
    char size[32], mode[16];
    const char *opts[5] = {NULL};
    size_t k = 0;
    if (op->size) {
      snprintf(size, sizeof size, "%llu", (unsigned long long)op->size);
      opts[k++] = "size";
      opts[k++] = size;
    }
    if (op->has_mode) {
      snprintf(mode, sizeof mode, "%o", op->mode);
      opts[k++] = "mode";
      opts[k++] = mode;
    }
    cleanup_fd int target = target_fd(rootfd, op->target, LEAF_DIR);
    cleanup_fd int m = new_fs("tmpfs", opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
    attach_mount(m, target, "tmpfs", op->target);
    break;
  }
  case OP_ETC_FILE: {
    set_stage("etc files");
    /* The contents live on the staging tmpfs, which outlives pivot_root
     * only through this bind mount. */
    cleanup_free char *staged = xasprintf("/etc-files/%s", op->source);
    {
      cleanup_fd int fd = TFR(open(staged, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644));
      if (fd < 0 || !write_all(fd, op->data, strlen(op->data)))
        die_errno("write", "write %s", staged);
    }
    int target = open_in_root(rootfd, op->target, LEAF_FILE);
    if (target < 0) {
      /* "when it exists or can be created": a read-only rootfs without
       * the file, or a dangling symlink in its place, gets none. */
      if (errno == EROFS || errno == ENOENT)
        break;
      die_errno("openat2", "%s in the rootfs", op->target);
    }
    cleanup_fd int tfd = target;
    cleanup_fd int m = clone_tree(AT_FDCWD, staged, false, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
    attach_mount(m, tfd, op->source, op->target);
    break;
  }
  case OP_MASK: {
    set_stage("mask paths");
    int target = open_in_root(rootfd, op->target, LEAF_EXISTING);
    if (target < 0) {
      if (errno == ENOENT)
        break; /* nothing to hide */
      die_errno("openat2", "open %s", op->target);
    }
    cleanup_fd int tfd = target;
    struct stat st;
    if (fstat(tfd, &st) < 0)
      die_errno("fstat", "stat %s", op->target);
    static const char *const empty_opts[] = {"size", "0k", "nr_inodes", "1", "mode", "0555", NULL};
    cleanup_fd int m =
        S_ISDIR(st.st_mode)
            ? new_fs("tmpfs", empty_opts, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)
            : clone_tree(AT_FDCWD, "/oldroot/dev/null", false, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
    attach_mount(m, tfd, S_ISDIR(st.st_mode) ? "tmpfs" : "/dev/null", op->target);
    break;
  }
  case OP_READONLY: {
    set_stage("read-only paths");
    int target = open_in_root(rootfd, op->target, LEAF_EXISTING);
    if (target < 0) {
      if (errno == ENOENT)
        break;
      die_errno("openat2", "open %s", op->target);
    }
    cleanup_fd int tfd = target;
    cleanup_fd int m =
        clone_tree(tfd, "", true, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
    attach_mount(m, tfd, op->target, op->target);
    break;
  }
  case OP_MKDIR: {
    set_stage("cwd");
    int fd = open_in_root(rootfd, op->target, LEAF_DIR);
    if (fd < 0)
      die_errno("mkdirat", "create working directory %s", op->target);
    close(fd);
    break;
  }
  case OP_ROOT_READONLY:
    set_stage("mount rootfs");
    set_mount_attr(rootfd, MOUNT_ATTR_RDONLY, false, "the rootfs");
    break;
  }
}

static void check_host_dir(const char *oldroot_path, const char *what)
{
  struct stat st;
  if (stat(oldroot_path, &st) < 0)
    die_errno("stat", "%s %s", what, strip_oldroot(oldroot_path));
  if (!S_ISDIR(st.st_mode))
    die_err(ENOTDIR, "stat", "%s %s", what, strip_oldroot(oldroot_path));
}

static void mount_overlay(const struct sandbox_config *cfg)
{
  set_stage("mount overlay");
  char **lower = xcalloc(cfg->n_lower, sizeof *lower);
  for (size_t i = 0; i < cfg->n_lower; i++) {
    lower[i] = path_join(OLDROOT, cfg->lower[i]);
    check_host_dir(lower[i], "lower directory");
  }
  cleanup_free char *upper = path_join(OLDROOT, cfg->upper);
  cleanup_free char *work = path_join(OLDROOT, cfg->work);
  check_host_dir(upper, "upper directory");
  check_host_dir(work, "work directory");

  long page = sysconf(_SC_PAGESIZE);
  cleanup_free char *opts = overlay_options(cfg->lower, cfg->n_lower, cfg->upper, cfg->work, OLDROOT);
  bool linked = strlen(opts) >= (size_t)page;
  if (linked) {
    /* mount(2) copies at most one page of options. Layer directories need
     * not share a parent, so instead of relative paths from a common one
     * each layer gets a short symlink on the staging tmpfs ("0", "1", …,
     * "dv"), and the mount runs from there: 500 layers fit in 2 KiB.
     * overlayfs resolves (and follows) the names once, at mount time. */
    if (mkdir("/layers", 0700) < 0)
      die_errno("mkdir", "mkdir /layers on the staging tmpfs");
    const char **names = xcalloc(cfg->n_lower, sizeof *names);
    for (size_t i = 0; i < cfg->n_lower; i++) {
      char name[16];
      layer_link_name(i, name);
      cleanup_free char *link = path_join("/layers", name);
      if (symlink(lower[i], link) < 0)
        die_errno("symlink", "symlink %s", link);
      names[i] = xstrdup(name);
    }
    if (symlink(upper, "/layers/U") < 0 || symlink(work, "/layers/W") < 0)
      die_errno("symlink", "symlink upper/work");
    free(opts);
    opts = overlay_options(names, cfg->n_lower, "U", "W", ""); /* base 36 names are lower case */
    for (size_t i = 0; i < cfg->n_lower; i++)
      free((char *)names[i]);
    free(names);
    if (chdir("/layers") < 0)
      die_errno("chdir", "chdir /layers");
  }
  if (mount("overlay", NEWROOT, "overlay", MS_NODEV, opts) < 0)
    die_errno("mount", "mount overlay on %s (lower %s…, %zu layers; upper %s; work %s)", NEWROOT, cfg->lower[0],
              cfg->n_lower, cfg->upper, cfg->work);
  if (linked && chdir("/") < 0)
    die_errno("chdir", "chdir /");
  for (size_t i = 0; i < cfg->n_lower; i++)
    free(lower[i]);
  free(lower);
}

/* Builds the new root and pivots into it:
 *
 *   1. "/" becomes recursively private: nothing we mount propagates out.
 *   2. A staging tmpfs is mounted on /tmp and pivoted into, with the host
 *      root kept at /oldroot. Host paths from the spec are read there.
 *   3. The rootfs (overlay or bind) is mounted at /newroot, then every
 *      setup op, each mount attached to an fd resolved inside it.
 *   4. pivot_root(".", ".") from /newroot stacks the staging root on top
 *      of the new one, and umount2(".", MNT_DETACH) drops it together with
 *      the host tree: no mount of ours is reachable from the host, and the
 *      kernel frees all of it with the mount namespace, even under kill -9.
 *      pivot_root(".", ".") also means no put_old directory has to be made
 *      in a rootfs that may be read-only. */
static void setup_rootfs(const struct sandbox_config *cfg)
{
  set_stage("mount propagation");
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    die_errno("mount", "make / recursively private");

  set_stage("mount staging");
  if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700,size=16m") < 0)
    die_errno("mount", "mount staging tmpfs on /tmp");
  if (chdir("/tmp") < 0)
    die_errno("chdir", "chdir to the staging tmpfs");
  if (mkdir(OLDROOT + 1, 0700) < 0 || mkdir(NEWROOT + 1, 0755) < 0 || mkdir("etc-files", 0700) < 0)
    die_errno("mkdir", "mkdir on the staging tmpfs");
  if (syscall(SYS_pivot_root, ".", OLDROOT + 1) < 0)
    die_errno("pivot_root", "pivot_root into the staging tmpfs");
  if (chdir("/") < 0)
    die_errno("chdir", "chdir /");

  if (cfg->rootfs == ROOTFS_OVERLAY) {
    mount_overlay(cfg);
  } else {
    set_stage("mount rootfs");
    cleanup_free char *dir = path_join(OLDROOT, cfg->dir);
    check_host_dir(dir, "rootfs directory");
    cleanup_fd int m = clone_tree(AT_FDCWD, dir, true, MOUNT_ATTR_NODEV);
    cleanup_fd int at = TFR(open(NEWROOT, O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (at < 0)
      die_errno("open", "open %s", NEWROOT);
    attach_mount(m, at, cfg->dir, NEWROOT);
  }
  cleanup_fd int rootfd = TFR(open(NEWROOT, O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (rootfd < 0)
    die_errno("open", "open the new root %s", NEWROOT);

  struct setup_op *ops = NULL;
  size_t n = setup_ops_build(cfg, &ops);
  for (size_t i = 0; i < n; i++)
    perform_setup_op(rootfd, &ops[i]);
  free(ops);

  set_stage("pivot_root");
  if (fchdir(rootfd) < 0)
    die_errno("fchdir", "fchdir into the new root");
  if (syscall(SYS_pivot_root, ".", ".") < 0)
    die_errno("pivot_root", "pivot_root(\".\", \".\")");
  if (umount2(".", MNT_DETACH) < 0)
    die_errno("umount2", "detach the old root");
  if (chdir("/") < 0)
    die_errno("chdir", "chdir /");
}

/* ------------------------------------------------------------------------
 * Network
 * --------------------------------------------------------------------- */

static void loopback_up(void)
{
  set_stage("network");
  cleanup_fd int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0)
    die_errno("socket", "socket for loopback setup");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
  if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
    die_errno("ioctl", "SIOCGIFFLAGS lo");
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
    die_errno("ioctl", "SIOCSIFFLAGS lo");
}

static void reset_signals(void)
{
  for (int sig = 1; sig < NSIG; sig++)
    signal(sig, SIG_DFL); /* EINVAL for KILL, STOP and glibc's own: fine */
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
}

/* slirp4netns gives the sandbox's netns a tap device with 10.0.2.100/24,
 * gateway 10.0.2.2 (the host's loopback) and DNS 10.0.2.3; it needs no
 * change to the host's interfaces or firewall. */
static pid_t slirp_start(pid_t target)
{
  set_stage("network");
  int ready[2];
  if (pipe2(ready, O_CLOEXEC) < 0)
    die_errno("pipe2", "pipe for slirp4netns");
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0)
    die_errno("fork", "fork slirp4netns");
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
      _exit(1);
    reset_signals();
    /* dup2 onto itself would keep O_CLOEXEC, so go through fd 3 explicitly. */
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    int ready_fd = ready[1] == 3 ? fcntl(3, F_SETFD, 0) : dup2(ready[1], 3);
    if (null < 3 || ready_fd < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
      _exit(126);
    close_range(4, ~0U, 0);
    char pidbuf[16];
    snprintf(pidbuf, sizeof pidbuf, "%d", (int)target);
    char *argv[] = {"slirp4netns", "--configure", "--mtu=65520", "--ready-fd=3", "--enable-sandbox",
                    "--enable-seccomp", pidbuf, "tap0", NULL};
    execvp(argv[0], argv);
    _exit(errno == ENOENT ? 127 : 126);
  }
  close(ready[1]);
  cleanup_fd int rfd = ready[0];
  struct pollfd pfd = {rfd, POLLIN, 0};
  int rc = TFR(poll(&pfd, 1, 10000));
  char c;
  if (rc > 0 && TFR(read(rfd, &c, 1)) == 1)
    return pid;
  int ws = 0;
  kill(pid, SIGKILL);
  TFR(waitpid(pid, &ws, 0));
  if (rc == 0)
    die_fail(ETIMEDOUT, "slirp4netns did not configure the network within 10 s");
  if (WIFEXITED(ws) && WEXITSTATUS(ws) == 127)
    die_err(ENOENT, "execvp", "network \"default\" needs slirp4netns, which is not installed (Debian package slirp4netns)");
  die("slirp4netns exited (status %d) before configuring the network", WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws));
}

/* ------------------------------------------------------------------------
 * The payload (pid 2): credentials, capabilities, seccomp, exec
 * --------------------------------------------------------------------- */

static int last_cap(void)
{
  int cap = CAP_LAST_CAP;
  while (prctl(PR_CAPBSET_READ, cap + 1, 0, 0, 0) >= 0)
    cap++;
  while (cap > 0 && prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0)
    cap--;
  return cap;
}

static void drop_bounding_set(uint64_t keep)
{
  int last = last_cap();
  for (int cap = 0; cap <= last && cap < 64; cap++) {
    if (keep & (UINT64_C(1) << cap))
      continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
      die_errno("prctl", "PR_CAPBSET_DROP %d", cap);
  }
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    die_errno("prctl", "PR_CAP_AMBIENT_CLEAR_ALL");
}

static void set_capabilities(uint64_t eff_perm)
{
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  data[0].effective = data[0].permitted = (uint32_t)eff_perm;
  data[1].effective = data[1].permitted = (uint32_t)(eff_perm >> 32);
  /* Inheritable stays empty (moby's fix for CVE-2022-24769). */
  if (syscall(SYS_capset, &hdr, data) < 0)
    die_errno("capset", "capset");
}

struct seccomp_rule {
  const char *name;
  int action_errno;
  bool needs_sys_admin_off; /* denied only when the payload lacks CAP_SYS_ADMIN & co */
};

/* In the spirit of docker's default profile: a denylist returning EPERM.
 * With capabilities "all" (--security=insecure) the calls docker gates
 * behind CAP_SYS_ADMIN, CAP_SYS_MODULE, … are allowed, as docker does.
 * ptrace stays allowed (docker allows it on kernels ≥ 4.8, where seccomp
 * can no longer be bypassed with it). */
static const struct seccomp_rule SECCOMP_RULES[] = {
    {"add_key", EPERM, false},         {"keyctl", EPERM, false},         {"request_key", EPERM, false},
    {"io_uring_setup", EPERM, false},  {"io_uring_enter", EPERM, false}, {"io_uring_register", EPERM, false},
    {"clone3", ENOSYS, false}, /* flags are behind a pointer: glibc falls back to clone */
    {"userfaultfd", EPERM, true},      {"kexec_load", EPERM, true},      {"kexec_file_load", EPERM, true},
    {"init_module", EPERM, true},      {"finit_module", EPERM, true},    {"delete_module", EPERM, true},
    {"create_module", EPERM, true},    {"get_kernel_syms", EPERM, true}, {"query_module", EPERM, true},
    {"mount", EPERM, true},            {"umount", EPERM, true},          {"umount2", EPERM, true},
    {"pivot_root", EPERM, true},       {"move_mount", EPERM, true},      {"open_tree", EPERM, true},
    {"fsopen", EPERM, true},           {"fsconfig", EPERM, true},        {"fsmount", EPERM, true},
    {"fspick", EPERM, true},           {"mount_setattr", EPERM, true},   {"reboot", EPERM, true},
    {"swapon", EPERM, true},           {"swapoff", EPERM, true},         {"bpf", EPERM, true},
    {"perf_event_open", EPERM, true},  {"open_by_handle_at", EPERM, true}, {"name_to_handle_at", EPERM, true},
    {"setns", EPERM, true},            {"clock_settime", EPERM, true},   {"clock_adjtime", EPERM, true},
    {"settimeofday", EPERM, true},     {"stime", EPERM, true},           {"acct", EPERM, true},
    {"iopl", EPERM, true},             {"ioperm", EPERM, true},          {"syslog", EPERM, true},
    {"lookup_dcookie", EPERM, true},   {"quotactl", EPERM, true},        {"quotactl_fd", EPERM, true},
    {"nfsservctl", EPERM, true},       {"vm86", EPERM, true},            {"vm86old", EPERM, true},
    {"uselib", EPERM, true},           {"ustat", EPERM, true},           {"sysfs", EPERM, true},
    {"_sysctl", EPERM, true},          {"fanotify_init", EPERM, true},   {"sethostname", EPERM, true},
    {"setdomainname", EPERM, true},    {"vhangup", EPERM, true},         {"pciconfig_read", EPERM, true},
    {"pciconfig_write", EPERM, true},  {"pciconfig_iobase", EPERM, true},
};

#define NAMESPACE_FLAGS                                                                                        \
  (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP)

static void install_seccomp(bool all_caps)
{
  set_stage("seccomp");
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (ctx == NULL)
    die_err(ENOMEM, "seccomp_init", "seccomp_init");
  int rc;
  /* Without no_new_privs the kernel wants CAP_SYS_ADMIN, which the
   * payload still has here: setuid programs keep working afterwards. */
  if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0)) < 0)
    die_err(-rc, "seccomp_attr_set", "seccomp: clear SCMP_FLTATR_CTL_NNP");
  /* Every ABI the CPU can enter must be filtered, or int 0x80 walks past. */
#if defined(__x86_64__)
  static const uint32_t extra_arches[] = {SCMP_ARCH_X86, SCMP_ARCH_X32};
#elif defined(__aarch64__)
  static const uint32_t extra_arches[] = {SCMP_ARCH_ARM};
#else
  static const uint32_t extra_arches[] = {};
#endif
  for (size_t i = 0; i < N_ELEMENTS(extra_arches); i++)
    if ((rc = seccomp_arch_add(ctx, extra_arches[i])) < 0 && rc != -EEXIST)
      die_err(-rc, "seccomp_arch_add", "seccomp: add architecture %#x", extra_arches[i]);
  for (size_t i = 0; i < N_ELEMENTS(SECCOMP_RULES); i++) {
    const struct seccomp_rule *r = &SECCOMP_RULES[i];
    if (all_caps && r->needs_sys_admin_off)
      continue;
    int nr = seccomp_syscall_resolve_name(r->name);
    if (nr == __NR_SCMP_ERROR)
      die_err(EINVAL, "seccomp_syscall_resolve_name", "seccomp: libseccomp does not know syscall %s", r->name);
    if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO((uint32_t)r->action_errno), nr, 0)) < 0)
      die_err(-rc, "seccomp_rule_add", "seccomp: rule for %s", r->name);
  }
  if (!all_caps) {
    /* New namespaces (including user namespaces) stay out of reach. */
    static const unsigned long ns_flags[] = {CLONE_NEWNS,  CLONE_NEWUTS, CLONE_NEWIPC,   CLONE_NEWUSER,
                                             CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP};
    for (size_t i = 0; i < N_ELEMENTS(ns_flags); i++) {
      if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                                 SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]))) < 0)
        die_err(-rc, "seccomp_rule_add", "seccomp: rule for clone");
      if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(unshare), 1,
                                 SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]))) < 0)
        die_err(-rc, "seccomp_rule_add", "seccomp: rule for unshare");
    }
  }
  if ((rc = seccomp_load(ctx)) < 0)
    die_err(-rc, "seccomp", "seccomp: load the filter");
  seccomp_release(ctx);
}

static const char *env_lookup(const char *const *env, const char *name)
{
  size_t n = strlen(name);
  for (; *env; env++)
    if (strncmp(*env, name, n) == 0 && (*env)[n] == '=')
      return *env + n + 1;
  return NULL;
}

/* execvp with the sandbox's own PATH (from the spec's env, else docker's
 * default), as docker resolves a command; no /bin/sh fallback. */
static noreturn void exec_command(const struct sandbox_config *cfg)
{
  set_stage("exec");
  const char *cmd = cfg->args[0];
  char *const *argv = (char *const *)cfg->args;
  char *const *envp = (char *const *)cfg->env;
  if (strchr(cmd, '/') != NULL) {
    execve(cmd, argv, envp);
    die_errno("execve", "exec %s", cmd);
  }
  const char *path = env_lookup(cfg->env, "PATH");
  if (path == NULL)
    path = DEFAULT_PATH;
  int saved = ENOENT;
  for (const char *p = path;;) {
    const char *colon = strchr(p, ':');
    size_t len = colon ? (size_t)(colon - p) : strlen(p);
    cleanup_free char *candidate = xasprintf("%.*s/%s", (int)len, len ? p : ".", cmd);
    execve(candidate, argv, envp);
    if (errno == EACCES)
      saved = EACCES;
    else if (errno != ENOENT && errno != ENOTDIR)
      die_errno("execve", "exec %s", candidate);
    if (colon == NULL)
      break;
    p = colon + 1;
  }
  die_err(saved, "execve", "exec %s: not found in PATH %s", cmd, path);
}

/* ------------------------------------------------------------------------
 * Terminals
 * --------------------------------------------------------------------- */

static void pty_set_size(int master, unsigned rows, unsigned cols)
{
  if (rows == 0 || cols == 0)
    return;
  struct winsize ws;
  memset(&ws, 0, sizeof ws);
  ws.ws_row = (unsigned short)rows;
  ws.ws_col = (unsigned short)cols;
  if (ioctl(master, TIOCSWINSZ, &ws) < 0)
    die_errno("ioctl", "TIOCSWINSZ %ux%u", rows, cols);
}

/* A new pty of the sandbox's own devpts instance, from `rootfd` (the
 * sandbox's root): pts/ptmx resolved inside it, and checked to be a devpts
 * ptmx node, so a sandbox that replaced /dev/pts cannot hand us anything
 * else (exec opens it from outside, after the command has run). */
static int pty_open_master(int rootfd, const struct sandbox_config *cfg)
{
  set_stage("tty");
  int master = openat2_in_root(rootfd, "dev/pts/ptmx", O_RDWR | O_NOCTTY);
  if (master < 0)
    die_errno("openat2", "open /dev/pts/ptmx in the sandbox");
  struct stat st;
  struct statfs sf;
  if (fstat(master, &st) < 0 || fstatfs(master, &sf) < 0)
    die_errno("fstat", "stat /dev/pts/ptmx");
  if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != 5 || minor(st.st_rdev) != 2 || (long)sf.f_type != DEVPTS_SUPER_MAGIC)
    die_err(ENOTTY, "open", "/dev/pts/ptmx in the sandbox is not a devpts ptmx");
  int unlock = 0;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
    die_errno("ioctl", "TIOCSPTLCK: unlock the pty");
  pty_set_size(master, cfg->tty_rows, cfg->tty_cols);
  return master;
}

/* The pty's other end, made the controlling terminal and stdio of this
 * (new session's) process. TIOCGPTPEER opens it from the master without a
 * path lookup in a filesystem the sandbox controls. */
static void payload_tty(const struct sandbox_config *cfg, int master)
{
  set_stage("tty");
  cleanup_fd int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0)
    die_errno("ioctl", "TIOCGPTPEER: open the pty");
  close(master);
  /* A command running as another user must be able to reopen its tty. */
  if (fchown(slave, cfg->uid, (gid_t)-1) < 0)
    die_errno("fchown", "chown the pty to uid %u", (unsigned)cfg->uid);
  if (ioctl(slave, TIOCSCTTY, 0) < 0)
    die_errno("ioctl", "TIOCSCTTY: make the pty the controlling terminal");
  for (int fd = 0; fd <= 2; fd++)
    if (dup2(slave, fd) < 0)
      die_errno("dup2", "pty as fd %d", fd);
}

static noreturn void payload_main(const struct sandbox_config *cfg, int errfd, int tty_master)
{
  g_report.channel_fd = errfd;
  reset_signals();
  umask(022);
  set_stage("session");
  if (setsid() < 0)
    die_errno("setsid", "setsid");
  if (tty_master >= 0)
    payload_tty(cfg, tty_master);
  else if (cfg->stdin_mode == STDIN_NULL) {
    set_stage("stdin");
    int fd = TFR(open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (fd < 0 || dup2(fd, STDIN_FILENO) < 0)
      die_errno("open", "open /dev/null as stdin");
    close(fd);
  }
  set_stage("cwd");
  if (chdir(cfg->cwd) < 0)
    die_errno("chdir", "chdir %s", cfg->cwd);

  set_stage("capabilities");
  uint64_t caps = cfg->caps == CAPS_ALL ? ~UINT64_C(0) : default_capability_mask();
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
    die_errno("prctl", "PR_SET_KEEPCAPS");
  drop_bounding_set(caps);
  /* Before dropping capabilities: CAP_SYS_ADMIN stands in for
   * no_new_privs, which must stay off for setuid programs (su, sudo). */
  TRACE("payload: start");
  if (cfg->seccomp)
    install_seccomp(cfg->caps == CAPS_ALL);
  TRACE("payload: seccomp");

  set_stage("user");
  if (setgroups(cfg->n_groups, cfg->groups) < 0)
    die_errno("setgroups", "setgroups (%zu groups)", cfg->n_groups);
  if (setresgid(cfg->gid, cfg->gid, cfg->gid) < 0)
    die_errno("setresgid", "setresgid %u", (unsigned)cfg->gid);
  if (setresuid(cfg->uid, cfg->uid, cfg->uid) < 0)
    die_errno("setresuid", "setresuid %u", (unsigned)cfg->uid);

  set_stage("capabilities");
  uint64_t have = 0;
  for (int cap = 0; cap <= last_cap() && cap < 64; cap++)
    if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) > 0)
      have |= UINT64_C(1) << cap;
  set_capabilities(caps & have);

  set_stage("close fds");
  close_fds_except(errfd); /* errfd is O_CLOEXEC: execve closes it */
  TRACE("payload: exec");
  exec_command(cfg);
}

/* ------------------------------------------------------------------------
 * init (pid 1)
 * --------------------------------------------------------------------- */

static void send_msg(int fd, enum msg_kind kind, int status)
{
  struct msg m;
  memset(&m, 0, sizeof m);
  m.kind = kind;
  m.status = status;
  if (!write_all(fd, &m, sizeof m))
    _exit(EXIT_SETUP_FAILED); /* the helper is gone; PDEATHSIG follows */
}

/* A message carrying one descriptor (SCM_RIGHTS). */
static void send_fd(int sock, enum msg_kind kind, int fd)
{
  struct msg m;
  memset(&m, 0, sizeof m);
  m.kind = kind;
  struct iovec iov = {&m, sizeof m};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  memset(&u, 0, sizeof u);
  struct msghdr mh;
  memset(&mh, 0, sizeof mh);
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = u.buf;
  mh.msg_controllen = sizeof u.buf;
  struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  if (TFR(sendmsg(sock, &mh, MSG_NOSIGNAL)) != (ssize_t)sizeof m)
    die_errno("sendmsg", "send the pty to the helper");
}

static const int FORWARDED_SIGNALS[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

/* "Kill the sandbox now and clean up": sent by the caller to abort, and
 * our parent-death signal. Not forwarded; the helper SIGKILLs init, reaps
 * it (so no zombie is left to the host's pid 1), removes the cgroup, exits. */
#define KILL_SIGNAL SIGPWR

/* The helper's signals, blocked from the start of main: they are handled
 * by the helper's loop through a signalfd, and init inherits the mask. */
static void helper_signal_mask(sigset_t *mask)
{
  sigemptyset(mask);
  sigaddset(mask, SIGCHLD);
  sigaddset(mask, KILL_SIGNAL);
  for (size_t i = 0; i < N_ELEMENTS(FORWARDED_SIGNALS); i++)
    sigaddset(mask, FORWARDED_SIGNALS[i]);
}

static noreturn void init_main(const struct sandbox_config *cfg, int sock)
{
  g_report.channel_fd = sock;
  g_report.status_fd = -1;
  g_report.helper = NULL;
  set_stage("init");
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
    die_errno("prctl", "PR_SET_PDEATHSIG");
  /* Not dumpable: the payload cannot ptrace init or open /proc/1/{mem,fd,exe}. */
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
    die_errno("prctl", "PR_SET_DUMPABLE");
  if (prctl(PR_SET_NAME, "tsbuild-init", 0, 0, 0) < 0)
    die_errno("prctl", "PR_SET_NAME");
  close_fds_except(sock);
  TRACE("init: start");

  /* The mounts do not depend on the cgroup: they run while the helper
   * moves us into it (a v1 migration waits for an RCU grace period). */
  if (cfg->hostname != NULL) {
    set_stage("hostname");
    if (sethostname(cfg->hostname, strlen(cfg->hostname)) < 0)
      die_errno("sethostname", "sethostname %s", cfg->hostname);
  }
  if (cfg->network != NETWORK_HOST)
    loopback_up();
  setup_rootfs(cfg);
  TRACE("init: rootfs ready");
  int master = -1;
  if (cfg->tty) {
    cleanup_fd int rootfd = TFR(open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (rootfd < 0)
      die_errno("open", "open /");
    master = pty_open_master(rootfd, cfg);
    send_fd(sock, MSG_TTY, master);
  }

  struct msg go;
  ssize_t n = TFR(read(sock, &go, sizeof go));
  if (n != (ssize_t)sizeof go || go.kind != MSG_GO)
    _exit(EXIT_SETUP_FAILED); /* the helper failed and reports it */
  TRACE("init: go");

  /* Now inside the leaf cgroup, which becomes the namespace's "/"; the
   * payload is forked after this, so it is born in the leaf. */
  set_stage("cgroup namespace");
  if (unshare(CLONE_NEWCGROUP) < 0)
    die_errno("unshare", "unshare(CLONE_NEWCGROUP)");

  set_stage("fork");
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) < 0)
    die_errno("pipe2", "pipe2");
  pid_t payload = fork();
  if (payload < 0)
    die_errno("fork", "fork the command");
  if (payload == 0) {
    close(pipefd[0]);
    close(sock);
    payload_main(cfg, pipefd[1], master);
  }
  close(pipefd[1]);
  if (master >= 0)
    close(master);
  struct msg fail;
  ssize_t got = read_full(pipefd[0], &fail, sizeof fail);
  close(pipefd[0]);
  if (got == (ssize_t)sizeof fail) {
    (void)write_all(sock, &fail, sizeof fail);
    TFR(waitpid(payload, NULL, 0));
    _exit(EXIT_SETUP_FAILED);
  }
  send_msg(sock, MSG_EXECED, 0);
  TRACE("init: payload exec'd");

  /* From here init only reaps and forwards signals: CAP_KILL (to signal a
   * payload running as another user) is all it keeps. */
  set_stage("init");
  drop_bounding_set(UINT64_C(1) << CAP_KILL);
  set_capabilities(UINT64_C(1) << CAP_KILL);

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  for (size_t i = 0; i < N_ELEMENTS(FORWARDED_SIGNALS); i++)
    sigaddset(&set, FORWARDED_SIGNALS[i]);
  for (;;) {
    siginfo_t si;
    int sig = sigwaitinfo(&set, &si);
    if (sig < 0) {
      if (errno == EINTR)
        continue;
      die_errno("sigwaitinfo", "sigwaitinfo");
    }
    if (sig != SIGCHLD) {
      kill(payload, sig);
      continue;
    }
    for (;;) {
      int ws;
      pid_t pid = waitpid(-1, &ws, WNOHANG);
      if (pid <= 0)
        break;
      if (pid == payload) {
        int status, termsig;
        wait_status_decode(ws, &status, &termsig);
        send_msg(sock, MSG_STATUS, ws);
        TRACE("init: payload reaped");
        /* Exiting takes down every other process of the pid namespace. */
        _exit(status);
      }
    }
  }
}

/* ------------------------------------------------------------------------
 * The terminal relay (helper side of a tty sandbox or exec)
 * --------------------------------------------------------------------- */

/* With a tty the command's stdio is a pty inside the sandbox; the helper
 * copies the master to its own stdout, its own stdin (when the spec says
 * "inherit") to the master, and applies "ROWS COLS\n" lines from the
 * control fd as window sizes. */
struct relay {
  int master;         /* -1 until the pty arrives */
  int in;             /* fd 0, or -1 when not relayed or at EOF */
  int control;        /* -1 when none */
  bool active;        /* the command runs: before its exec the slave may not be open yet (POLLHUP) */
  bool out_broken;    /* stdout gone: keep draining the master, drop the bytes */
  unsigned rows, cols; /* the last size asked for */
  char ctl[64];
  size_t ctl_len;
};

static void relay_init(struct relay *r, const struct sandbox_config *cfg, int control_fd)
{
  memset(r, 0, sizeof *r);
  r->master = -1;
  r->in = cfg->tty && cfg->stdin_mode == STDIN_INHERIT ? STDIN_FILENO : -1;
  r->control = control_fd;
  r->rows = cfg->tty_rows;
  r->cols = cfg->tty_cols;
}

static void relay_set_master(struct relay *r, int master)
{
  r->master = master;
  /* The sandbox may be gone by the time we read: never block on it. */
  int fl = fcntl(master, F_GETFL);
  if (fl >= 0)
    (void)fcntl(master, F_SETFL, fl | O_NONBLOCK);
}

/* Entries for poll(); an fd of -1 is ignored by poll. */
static void relay_pollfds(const struct relay *r, struct pollfd pfd[3])
{
  int master = r->active ? r->master : -1;
  pfd[0] = (struct pollfd){master, POLLIN, 0};
  pfd[1] = (struct pollfd){master >= 0 ? r->in : -1, POLLIN, 0};
  pfd[2] = (struct pollfd){r->control, POLLIN, 0};
}

/* Copies what the master has; false at EOF/EIO (every slave closed). */
static bool relay_master(struct relay *r)
{
  char buf[65536];
  for (;;) {
    ssize_t n = TFR(read(r->master, buf, sizeof buf));
    if (n > 0) {
      if (!r->out_broken && !write_all(STDOUT_FILENO, buf, (size_t)n))
        r->out_broken = true;
      continue;
    }
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }
}

/* The master is non-blocking: wait for room (a command not reading its
 * input for 10 s loses it, rather than stalling the helper). */
static void relay_write(int fd, const char *p, size_t len)
{
  while (len > 0) {
    ssize_t n = TFR(write(fd, p, len));
    if (n > 0) {
      p += n;
      len -= (size_t)n;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      struct pollfd pfd = {fd, POLLOUT, 0};
      if (TFR(poll(&pfd, 1, 10000)) > 0 && !(pfd.revents & (POLLERR | POLLHUP)))
        continue;
    }
    return;
  }
}

static void relay_control(struct relay *r)
{
  ssize_t n = TFR(read(r->control, r->ctl + r->ctl_len, sizeof r->ctl - 1 - r->ctl_len));
  if (n <= 0) {
    close(r->control);
    r->control = -1;
    return;
  }
  r->ctl_len += (size_t)n;
  r->ctl[r->ctl_len] = '\0';
  char *nl;
  while ((nl = strchr(r->ctl, '\n')) != NULL) {
    *nl = '\0';
    unsigned rows, cols;
    if (sscanf(r->ctl, "%u %u", &rows, &cols) == 2 && rows > 0 && cols > 0 && rows <= 65535 && cols <= 65535) {
      r->rows = rows;
      r->cols = cols;
      if (r->master >= 0) {
        struct winsize ws;
        memset(&ws, 0, sizeof ws);
        ws.ws_row = (unsigned short)rows;
        ws.ws_col = (unsigned short)cols;
        (void)ioctl(r->master, TIOCSWINSZ, &ws); /* the pty may be gone: not a failure */
      }
    }
    size_t rest = r->ctl_len - (size_t)(nl + 1 - r->ctl);
    memmove(r->ctl, nl + 1, rest + 1);
    r->ctl_len = rest;
  }
  if (r->ctl_len == sizeof r->ctl - 1)
    r->ctl_len = 0; /* a line this long is not ours */
}

static void relay_handle(struct relay *r, const struct pollfd pfd[3])
{
  if (r->master >= 0 && r->active && (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) && !relay_master(r)) {
    /* Every slave is closed: nothing more will come. */
    close(r->master);
    r->master = -1;
  }
  if (r->in >= 0 && r->master >= 0 && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR))) {
    char buf[16384];
    ssize_t n = TFR(read(r->in, buf, sizeof buf));
    if (n <= 0)
      r->in = -1; /* EOF on our stdin; the command keeps its tty */
    else
      relay_write(r->master, buf, (size_t)n);
  }
  if (r->control >= 0 && (pfd[2].revents & (POLLIN | POLLHUP | POLLERR)))
    relay_control(r);
}

/* After the command ended: what is still buffered in the master. */
static void relay_finish(struct relay *r)
{
  if (r->master >= 0) {
    (void)relay_master(r);
    close(r->master);
    r->master = -1;
  }
}

/* ------------------------------------------------------------------------
 * The helper
 * --------------------------------------------------------------------- */

struct helper_state {
  const struct sandbox_config *cfg;
  struct cgroup_set cg;
  pid_t init_pid, slirp_pid;
  int sock, sigfd;
  bool execed, failed, have_status, kill_requested, init_reaped;
  int payload_ws, init_ws;
  struct msg failure;
  struct relay relay;
};

/* On failure: nothing may stay behind. Never dies; keeps errno. */
static void helper_teardown(struct helper_state *h)
{
  int saved = errno;
  if (h->init_pid > 0 && !h->init_reaped) {
    kill(h->init_pid, SIGKILL);
    TFR(waitpid(h->init_pid, NULL, 0));
    h->init_reaped = true;
  }
  if (h->slirp_pid > 0) {
    kill(h->slirp_pid, SIGKILL);
    TFR(waitpid(h->slirp_pid, NULL, 0));
    h->slirp_pid = 0;
  }
  const char *failed = NULL;
  (void)cgroup_remove(&h->cg, &failed);
  errno = saved;
}

static void status_cgroup(const struct cgroup_set *cg)
{
  struct strbuf b = {0};
  sb_add(&b, "{\"cgroup\":[");
  for (size_t i = 0; i < cg->n; i++) {
    if (i)
      sb_addc(&b, ',');
    sb_json_string(&b, cg->leaf[i].path);
  }
  sb_add(&b, "]}\n");
  status_write(&b);
}

static void helper_reap(struct helper_state *h)
{
  for (;;) {
    int ws;
    pid_t pid = waitpid(-1, &ws, WNOHANG);
    if (pid <= 0)
      return;
    if (pid == h->init_pid) {
      h->init_reaped = true;
      h->init_ws = ws;
    } else if (pid == h->slirp_pid) {
      h->slirp_pid = 0;
    }
  }
}

static void helper_message(struct helper_state *h, const struct msg *m)
{
  switch ((enum msg_kind)m->kind) {
  case MSG_FAIL:
    if (!h->failed) {
      h->failed = true;
      h->failure = *m;
      h->failure.stage[sizeof h->failure.stage - 1] = '\0';
      h->failure.syscall[sizeof h->failure.syscall - 1] = '\0';
      h->failure.text[sizeof h->failure.text - 1] = '\0';
    }
    break;
  case MSG_EXECED:
    if (!h->execed && !h->failed) {
      h->execed = true;
      h->relay.active = true;
      struct strbuf b = {0};
      sb_printf(&b, "{\"ok\":true,\"pid\":%d}\n", (int)h->init_pid);
      status_write(&b);
    }
    break;
  case MSG_STATUS:
    h->have_status = true;
    h->payload_ws = m->status;
    break;
  case MSG_GO:
  case MSG_TTY: /* the descriptor was taken by helper_read_channel */
    break;
  default:
    break;
  }
}

static void helper_read_channel(struct helper_state *h, bool nonblock)
{
  for (;;) {
    struct msg m;
    struct iovec iov = {&m, sizeof m};
    union {
      char buf[CMSG_SPACE(sizeof(int))];
      struct cmsghdr align;
    } u;
    struct msghdr mh;
    memset(&mh, 0, sizeof mh);
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = u.buf;
    mh.msg_controllen = sizeof u.buf;
    ssize_t n = TFR(recvmsg(h->sock, &mh, MSG_CMSG_CLOEXEC | (nonblock ? MSG_DONTWAIT : 0)));
    if (n <= 0) {
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
        close(h->sock);
        h->sock = -1;
      }
      return;
    }
    int fd = -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c))
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len >= CMSG_LEN(sizeof(int)))
        memcpy(&fd, CMSG_DATA(c), sizeof fd);
    if (n == (ssize_t)sizeof m && m.kind == MSG_TTY && fd >= 0 && h->relay.master < 0) {
      relay_set_master(&h->relay, fd);
      fd = -1;
    }
    if (fd >= 0)
      close(fd);
    if (n == (ssize_t)sizeof m)
      helper_message(h, &m);
    if (!nonblock)
      return;
  }
}

/* network {"netns": path}: the helper itself enters the namespace before
 * anything else, so init is cloned into it (no CLONE_NEWNET). */
static void join_netns(const char *path)
{
  set_stage("network");
  cleanup_fd int fd = TFR(open(path, O_RDONLY | O_CLOEXEC));
  if (fd < 0)
    die_errno("open", "open network namespace %s", path);
  if (setns(fd, CLONE_NEWNET) < 0)
    die_errno("setns", "join network namespace %s", path);
}

static void set_sockaddr(struct sockaddr *sa, struct in_addr addr)
{
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  sin.sin_addr = addr;
  memcpy(sa, &sin, sizeof sin);
}

/* The joined namespace's interface: address, up, default route (ioctls,
 * as ifconfig and route do; the namespace is ours to configure). */
static void configure_interface(const struct sandbox_config *cfg)
{
  set_stage("network");
  cleanup_fd int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0)
    die_errno("socket", "socket to configure %s", cfg->if_name);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", cfg->if_name);
  set_sockaddr(&ifr.ifr_addr, cfg->if_addr);
  if (ioctl(s, SIOCSIFADDR, &ifr) < 0)
    die_errno("ioctl", "SIOCSIFADDR %s", cfg->if_name);
  struct in_addr mask = {htonl(cfg->if_prefix == 0 ? 0 : ~UINT32_C(0) << (32 - cfg->if_prefix))};
  set_sockaddr(&ifr.ifr_netmask, mask);
  if (ioctl(s, SIOCSIFNETMASK, &ifr) < 0)
    die_errno("ioctl", "SIOCSIFNETMASK %s /%u", cfg->if_name, cfg->if_prefix);
  if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
    die_errno("ioctl", "SIOCGIFFLAGS %s", cfg->if_name);
  ifr.ifr_flags |= IFF_UP;
  if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
    die_errno("ioctl", "SIOCSIFFLAGS %s up", cfg->if_name);
  if (cfg->if_has_gateway) {
    struct rtentry rt;
    memset(&rt, 0, sizeof rt);
    struct in_addr any = {0};
    set_sockaddr(&rt.rt_dst, any);
    set_sockaddr(&rt.rt_genmask, any);
    set_sockaddr(&rt.rt_gateway, cfg->if_gateway);
    rt.rt_flags = RTF_UP | RTF_GATEWAY;
    rt.rt_dev = (char *)cfg->if_name;
    if (ioctl(s, SIOCADDRT, &rt) < 0 && errno != EEXIST)
      die_errno("ioctl", "SIOCADDRT default via the gateway on %s", cfg->if_name);
  }
}

static noreturn void run_helper(const struct sandbox_config *cfg, int control_fd)
{
  struct helper_state h;
  memset(&h, 0, sizeof h);
  h.cfg = cfg;
  h.sock = -1;
  relay_init(&h.relay, cfg, control_fd);
  if (cfg->network == NETWORK_NETNS) {
    join_netns(cfg->netns);
    if (cfg->if_name != NULL)
      configure_interface(cfg);
  }

  set_stage("cgroup");
  cgroup_plan(cfg, &h.cg);
  /* Announced before mkdir: a caller that SIGKILLs us can still clean up. */
  status_cgroup(&h.cg);
  g_report.helper = &h;
  cgroup_create(cfg, &h.cg);
  TRACE("helper: cgroup created");

  set_stage("clone");
  sigset_t mask;
  helper_signal_mask(&mask);
  h.sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (h.sigfd < 0)
    die_errno("signalfd", "signalfd");
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    die_errno("socketpair", "socketpair");

  unsigned long flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | SIGCHLD;
  switch (cfg->network) {
  case NETWORK_NONE:
  case NETWORK_DEFAULT:
    flags |= CLONE_NEWNET;
    break;
  case NETWORK_HOST:
  case NETWORK_NETNS:
    break;
  }
  long pid = syscall(SYS_clone, flags, NULL, NULL, NULL, NULL);
  if (pid < 0)
    die_errno("clone", "clone the sandbox init");
  if (pid == 0) {
    close(sv[0]);
    init_main(cfg, sv[1]);
  }
  h.init_pid = (pid_t)pid;
  close(sv[1]);
  h.sock = sv[0];
  TRACE("helper: cloned");

  set_stage("cgroup");
  cgroup_attach(&h.cg, h.init_pid);
  if (cfg->network == NETWORK_DEFAULT)
    h.slirp_pid = slirp_start(h.init_pid);
  {
    struct msg go;
    memset(&go, 0, sizeof go);
    go.kind = MSG_GO;
    (void)write_all(h.sock, &go, sizeof go); /* init gone: reaped below */
  }
  TRACE("helper: go sent");

  set_stage("run");
  while (!h.init_reaped) {
    struct pollfd pfd[5] = {{h.sigfd, POLLIN, 0}, {h.sock, POLLIN, 0}};
    relay_pollfds(&h.relay, pfd + 2);
    int rc = poll(pfd, 5, h.cg.current_fd >= 0 ? 50 : -1);
    if (rc < 0 && errno != EINTR)
      die_errno("poll", "poll");
    cgroup_sample(&h.cg);
    if (rc > 0 && (pfd[0].revents & POLLIN)) {
      struct signalfd_siginfo si;
      while (TFR(read(h.sigfd, &si, sizeof si)) == (ssize_t)sizeof si) {
        int sig = (int)si.ssi_signo;
        if (sig == SIGCHLD) {
          helper_reap(&h);
        } else if (sig == KILL_SIGNAL) {
          /* Abort, or our caller died: take the sandbox down, then clean up. */
          h.kill_requested = true;
          kill(h.init_pid, SIGKILL);
        } else if (!h.init_reaped) {
          kill(h.init_pid, sig);
        }
      }
    }
    if (h.sock >= 0 && rc > 0 && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)))
      helper_read_channel(&h, false);
    if (rc > 0)
      relay_handle(&h.relay, pfd + 2);
  }
  TRACE("helper: init reaped");
  if (h.sock >= 0)
    helper_read_channel(&h, true);
  relay_finish(&h.relay);
  if (h.slirp_pid > 0) {
    kill(h.slirp_pid, SIGKILL);
    TFR(waitpid(h.slirp_pid, NULL, 0));
    h.slirp_pid = 0;
  }

  if (h.failed)
    die_report(h.failure.stage, h.failure.err, h.failure.syscall, h.failure.text);
  int status, sig;
  if (!h.execed) {
    if (h.kill_requested)
      die("the sandbox was killed on request before the command started");
    wait_status_decode(h.init_ws, &status, &sig);
    if (sig)
      die("the sandbox init was killed by signal %d before the command started", sig);
    die("the sandbox init exited with status %d before the command started", status);
  }
  wait_status_decode(h.have_status ? h.payload_ws : h.init_ws, &status, &sig);

  set_stage("cgroup cleanup");
  struct cgroup_stats st;
  cgroup_collect(&h.cg, &st);
  const char *failed_path = NULL;
  if (!cgroup_remove(&h.cg, &failed_path))
    die_errno("rmdir", "remove cgroup %s", failed_path);
  g_report.helper = NULL;
  TRACE("helper: cgroup removed");

  struct strbuf b = {0};
  sb_printf(&b, "{\"exited\":true,\"status\":%d,\"signal\":", status);
  if (sig)
    sb_printf(&b, "%d", sig);
  else
    sb_add(&b, "null");
  sb_printf(&b, ",\"oom\":%s,\"memory_peak\":", st.oom ? "true" : "false");
  if (st.has_peak)
    sb_printf(&b, "%llu", (unsigned long long)st.peak);
  else
    sb_add(&b, "null");
  sb_add(&b, ",\"cpu_usec\":");
  if (st.has_cpu)
    sb_printf(&b, "%llu", (unsigned long long)st.cpu_usec);
  else
    sb_add(&b, "null");
  sb_add(&b, "}\n");
  status_write(&b);
  exit(status);
}


/* ------------------------------------------------------------------------
 * exec: one more command in a running sandbox
 * --------------------------------------------------------------------- */

/* Joined by the child in this order; mnt last (it changes root and cwd). */
static const struct {
  const char *name;
  int type;
} EXEC_NAMESPACES[] = {
    {"cgroup", CLONE_NEWCGROUP}, {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS}, {"net", CLONE_NEWNET}, {"mnt", CLONE_NEWNS},
};

struct exec_target {
  pid_t pid;
  int ns[N_ELEMENTS(EXEC_NAMESPACES)];
  int pidns;
  int root;            /* O_PATH of /proc/<pid>/root: the sandbox's root */
  int procs[CG_MAX];   /* cgroup.procs of the sandbox's leaves, opened for writing */
  size_t n_procs;
};

/* Opens everything the child needs while we still see the host: the
 * namespaces, the sandbox root, and the cgroup.procs files of the leaves
 * init lives in (the same v1/v2 choice as cgroup_plan). `pid` must be a
 * sandbox init: anything else is refused. */
static void exec_open_target(pid_t pid, struct exec_target *t)
{
  memset(t, 0, sizeof *t);
  t->pid = pid;
  set_stage("join");
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
  cleanup_free char *comm = read_file_at(AT_FDCWD, path, 64);
  if (comm == NULL)
    die_err(errno == ENOENT ? ESRCH : errno, "open", "the sandbox init (pid %d) is not running", (int)pid);
  if (strcmp(comm, "tsbuild-init\n") != 0)
    die_err(EPERM, "open", "pid %d is not a sandbox init", (int)pid);
  for (size_t i = 0; i < N_ELEMENTS(EXEC_NAMESPACES); i++) {
    snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)pid, EXEC_NAMESPACES[i].name);
    t->ns[i] = TFR(open(path, O_RDONLY | O_CLOEXEC));
    if (t->ns[i] < 0)
      die_errno("open", "open %s", path);
  }
  snprintf(path, sizeof path, "/proc/%d/ns/pid", (int)pid);
  t->pidns = TFR(open(path, O_RDONLY | O_CLOEXEC));
  if (t->pidns < 0)
    die_errno("open", "open %s", path);
  snprintf(path, sizeof path, "/proc/%d/root", (int)pid);
  t->root = TFR(open(path, O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (t->root < 0)
    die_errno("open", "open %s", path);

  set_stage("cgroup");
  snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
  cleanup_free char *text = read_file_at(AT_FDCWD, path, 65536);
  if (text == NULL)
    die_errno("open", "read %s", path);
  const char *v2 = cgroup_v2_fs();
  const char *mounts[CG_MAX];
  char *rels[CG_MAX];
  size_t n = 0;
  if (v2 != NULL && cgroup_v2_usable(v2)) {
    mounts[n] = v2;
    rels[n++] = cgroup_own_path(text, NULL);
  } else {
    static const char *const v1[][2] = {{"memory", "/sys/fs/cgroup/memory"},
                                        {"cpu", "/sys/fs/cgroup/cpu"},
                                        {"cpuacct", "/sys/fs/cgroup/cpuacct"},
                                        {"pids", "/sys/fs/cgroup/pids"}};
    for (size_t i = 0; i < N_ELEMENTS(v1); i++) {
      mounts[n] = v1[i][1];
      rels[n++] = cgroup_own_path(text, v1[i][0]);
    }
  }
  for (size_t i = 0; i < n; i++) {
    if (rels[i] == NULL)
      die_fail(ENOENT, "the cgroup of pid %d in %s is not listed in %s", (int)pid, mounts[i], path);
    cleanup_free char *dir = path_join(mounts[i], rels[i]);
    cleanup_free char *file = path_join(dir, "cgroup.procs");
    free(rels[i]);
    t->procs[t->n_procs] = TFR(open(file, O_WRONLY | O_CLOEXEC));
    if (t->procs[t->n_procs] < 0)
      die_errno("open", "open %s", file);
    t->n_procs++;
  }
}

/* The child: into the leaves first ("0" is the writer; from inside the
 * cgroup namespace the move would be refused), then the namespaces. */
static noreturn void exec_child(const struct sandbox_config *cfg, struct exec_target *t, int errfd, int master)
{
  g_report.channel_fd = errfd;
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
    die_errno("prctl", "PR_SET_PDEATHSIG");
  /* Until its execve nothing in the sandbox may ptrace or open this process. */
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
    die_errno("prctl", "PR_SET_DUMPABLE");
  set_stage("cgroup");
  for (size_t i = 0; i < t->n_procs; i++)
    if (!write_all(t->procs[i], "0", 1))
      die_errno("write", "join the sandbox's cgroup");
  set_stage("join");
  for (size_t i = 0; i < N_ELEMENTS(EXEC_NAMESPACES); i++)
    if (setns(t->ns[i], EXEC_NAMESPACES[i].type) < 0)
      die_errno("setns", "join the %s namespace of pid %d", EXEC_NAMESPACES[i].name, (int)t->pid);
  payload_main(cfg, errfd, master);
}

static noreturn void run_exec(const struct sandbox_config *cfg, pid_t pid, int control_fd)
{
  struct exec_target t;
  exec_open_target(pid, &t);
  struct relay relay;
  relay_init(&relay, cfg, control_fd);
  int master = cfg->tty ? pty_open_master(t.root, cfg) : -1;

  set_stage("fork");
  sigset_t mask;
  helper_signal_mask(&mask);
  int sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sigfd < 0)
    die_errno("signalfd", "signalfd");
  int errpipe[2];
  if (pipe2(errpipe, O_CLOEXEC) < 0)
    die_errno("pipe2", "pipe2");
  /* Children are born in the sandbox's pid namespace; we stay outside. */
  if (setns(t.pidns, CLONE_NEWPID) < 0)
    die_errno("setns", "join the pid namespace of pid %d", (int)pid);
  pid_t child = fork();
  if (child < 0)
    die_errno("fork", "fork the command");
  if (child == 0) {
    close(errpipe[0]);
    exec_child(cfg, &t, errpipe[1], master);
  }
  close(errpipe[1]);
  struct msg fail;
  ssize_t got = read_full(errpipe[0], &fail, sizeof fail);
  close(errpipe[0]);
  if (got == (ssize_t)sizeof fail) {
    TFR(waitpid(child, NULL, 0));
    fail.stage[sizeof fail.stage - 1] = '\0';
    fail.syscall[sizeof fail.syscall - 1] = '\0';
    fail.text[sizeof fail.text - 1] = '\0';
    die_report(fail.stage, fail.err, fail.syscall, fail.text);
  }
  {
    struct strbuf b = {0};
    sb_printf(&b, "{\"ok\":true,\"pid\":%d}\n", (int)child);
    status_write(&b);
  }
  if (master >= 0) {
    relay_set_master(&relay, master);
    relay.active = true;
  }

  set_stage("run");
  int ws = 0;
  bool reaped = false;
  while (!reaped) {
    struct pollfd pfd[4] = {{sigfd, POLLIN, 0}};
    relay_pollfds(&relay, pfd + 1);
    int rc = poll(pfd, 4, -1);
    if (rc < 0 && errno != EINTR)
      die_errno("poll", "poll");
    if (rc > 0 && (pfd[0].revents & POLLIN)) {
      struct signalfd_siginfo si;
      while (TFR(read(sigfd, &si, sizeof si)) == (ssize_t)sizeof si) {
        int sig = (int)si.ssi_signo;
        if (sig == SIGCHLD) {
          if (TFR(waitpid(child, &ws, WNOHANG)) == child)
            reaped = true;
        } else if (!reaped) {
          kill(child, sig == KILL_SIGNAL ? SIGKILL : sig);
        }
      }
    }
    if (rc > 0)
      relay_handle(&relay, pfd + 1);
  }
  relay_finish(&relay);
  int status, sig;
  wait_status_decode(ws, &status, &sig);
  struct strbuf b = {0};
  sb_printf(&b, "{\"exited\":true,\"status\":%d,\"signal\":", status);
  if (sig)
    sb_printf(&b, "%d", sig);
  else
    sb_add(&b, "null");
  sb_add(&b, ",\"oom\":false,\"memory_peak\":null,\"cpu_usec\":null}\n");
  status_write(&b);
  exit(status);
}

/* ------------------------------------------------------------------------
 * opaque-list / opaque-set (Node cannot touch xattrs)
 * --------------------------------------------------------------------- */

static const char OPAQUE_XATTR[] = "trusted.overlay.opaque";
static size_t g_walk_root_len; /* nftw offers no user pointer */
static int g_walk_status;

static int opaque_visit(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
  (void)st;
  if (type == FTW_DNR || type == FTW_NS) {
    dprintf(STDERR_FILENO, "tsbuild-sandbox: opaque-list: cannot read %s: %s\n", path, strerror(errno));
    g_walk_status = 1;
    return FTW_STOP;
  }
  if (type != FTW_D || ftw->level == 0)
    return FTW_CONTINUE;
  char v[8];
  ssize_t n = lgetxattr(path, OPAQUE_XATTR, v, sizeof v);
  if (n < 0) {
    if (errno == ENODATA || errno == ENOTSUP)
      return FTW_CONTINUE;
    dprintf(STDERR_FILENO, "tsbuild-sandbox: opaque-list: lgetxattr %s: %s\n", path, strerror(errno));
    g_walk_status = 1;
    return FTW_STOP;
  }
  if (n == 1 && v[0] == 'y') {
    const char *rel = path + g_walk_root_len;
    while (*rel == '/')
      rel++;
    if (!write_all(STDOUT_FILENO, rel, strlen(rel) + 1)) {
      g_walk_status = 1;
      return FTW_STOP;
    }
  }
  return FTW_CONTINUE;
}

/* Prints, NUL-terminated and relative to DIR, each directory below DIR
 * whose trusted.overlay.opaque is "y". Symlinks are not followed. */
static int opaque_list(int argc, char **argv)
{
  if (argc != 1) {
    dprintf(STDERR_FILENO, "usage: tsbuild-sandbox opaque-list DIR\n");
    return 2;
  }
  g_walk_root_len = strlen(argv[0]);
  g_walk_status = 0;
  if (nftw(argv[0], opaque_visit, 64, FTW_PHYS | FTW_ACTIONRETVAL) < 0) {
    dprintf(STDERR_FILENO, "tsbuild-sandbox: opaque-list: %s: %s\n", argv[0], strerror(errno));
    return 1;
  }
  return g_walk_status;
}

static int opaque_set(int argc, char **argv)
{
  for (int i = 0; i < argc; i++) {
    struct stat st;
    if (lstat(argv[i], &st) < 0 || !S_ISDIR(st.st_mode)) {
      dprintf(STDERR_FILENO, "tsbuild-sandbox: opaque-set: %s: %s\n", argv[i],
              errno ? strerror(errno) : "not a directory");
      return 1;
    }
    if (lsetxattr(argv[i], OPAQUE_XATTR, "y", 1, 0) < 0) {
      dprintf(STDERR_FILENO, "tsbuild-sandbox: opaque-set: lsetxattr %s: %s\n", argv[i], strerror(errno));
      return 1;
    }
  }
  return 0;
}

/* ------------------------------------------------------------------------
 * main
 * --------------------------------------------------------------------- */

static int parse_fd(const char *s, const char *flag)
{
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || *end || v < 0 || v > INT_MAX)
    die_fail(EINVAL, "%s: \"%s\" is not a file descriptor", flag, s);
  if (fcntl((int)v, F_GETFD) < 0)
    die_errno("fcntl", "%s %ld", flag, v);
  return (int)v;
}

static char *read_spec(int fd, const char *name, size_t *len)
{
  struct strbuf b = {0};
  char chunk[65536];
  for (;;) {
    ssize_t n = TFR(read(fd, chunk, sizeof chunk));
    if (n < 0)
      die_errno("read", "read the spec from %s", name);
    if (n == 0)
      break;
    if (b.len + (size_t)n > SPEC_MAX_BYTES)
      die_fail(EFBIG, "spec: larger than %u bytes", SPEC_MAX_BYTES);
    sb_addn(&b, chunk, (size_t)n);
  }
  if (b.s == NULL)
    sb_reserve(&b, 0);
  *len = b.len;
  return b.s;
}

static const char USAGE[] =
    "usage: tsbuild-sandbox [run] (--spec-fd N | --spec FILE) [--status-fd N] [--control-fd N]\n"
    "       tsbuild-sandbox exec --pid N (--spec-fd N | --spec FILE) [--status-fd N] [--control-fd N]\n"
    "       tsbuild-sandbox opaque-list DIR\n"
    "       tsbuild-sandbox opaque-set DIR...\n"
    "See native/README.md.\n";

#ifndef SANDBOX_NO_MAIN
int main(int argc, char **argv)
{
  if (argc >= 2 && strcmp(argv[1], "opaque-list") == 0)
    return opaque_list(argc - 2, argv + 2);
  if (argc >= 2 && strcmp(argv[1], "opaque-set") == 0)
    return opaque_set(argc - 2, argv + 2);
  if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
    fputs(USAGE, stdout);
    return 0;
  }

  set_stage("arguments");
  /* Blocked before anything else (and kept across the memfd re-exec): an
   * early abort waits for the loop instead of killing us half-way. */
  sigset_t mask;
  helper_signal_mask(&mask);
  if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
    die_errno("sigprocmask", "block signals");
  pid_t ppid = getppid();
  int spec_fd = -1, status_fd = -1, control_fd = -1;
  const char *spec_file = NULL;
  bool exec_mode = false;
  long target = 0;
  int i = 1;
  if (i < argc && strcmp(argv[i], "run") == 0) {
    i++;
  } else if (i < argc && strcmp(argv[i], "exec") == 0) {
    exec_mode = true;
    i++;
  }
  for (; i < argc; i++) {
    if (strcmp(argv[i], "--spec-fd") == 0 && i + 1 < argc)
      spec_fd = parse_fd(argv[++i], "--spec-fd");
    else if (strcmp(argv[i], "--control-fd") == 0 && i + 1 < argc)
      control_fd = parse_fd(argv[++i], "--control-fd");
    else if (exec_mode && strcmp(argv[i], "--pid") == 0 && i + 1 < argc) {
      char *end;
      errno = 0;
      target = strtol(argv[++i], &end, 10);
      if (errno || *end || target <= 0 || target > INT_MAX)
        die_fail(EINVAL, "--pid: \"%s\" is not a process id", argv[i]);
    }
    else if (strcmp(argv[i], "--status-fd") == 0 && i + 1 < argc)
      status_fd = parse_fd(argv[++i], "--status-fd");
    else if (strcmp(argv[i], "--spec") == 0 && i + 1 < argc)
      spec_file = argv[++i];
    else
      die_fail(EINVAL, "unknown argument \"%s\"\n%s", argv[i], USAGE);
  }
  if ((spec_fd < 0) == (spec_file == NULL))
    die_fail(EINVAL, "exactly one of --spec-fd and --spec is needed\n%s", USAGE);
  if (exec_mode && target == 0)
    die_fail(EINVAL, "exec needs --pid\n%s", USAGE);
  if (control_fd >= 0 && control_fd <= 2)
    die_fail(EINVAL, "--control-fd must not be 0, 1 or 2");

  set_stage("startup");
  TRACE("helper: main");
  reexec_from_sealed_memfd(argv);
  /* Only now: the re-exec above must keep it open. */
  if (control_fd >= 0 && fcntl(control_fd, F_SETFD, FD_CLOEXEC) < 0)
    die_errno("fcntl", "--control-fd %d", control_fd);
  if (status_fd >= 0) {
    /* A status fd of 0-2 is shared with the payload's stdio: use a
     * private O_CLOEXEC copy and leave that one alone. */
    int fd = status_fd <= 2 ? fcntl(status_fd, F_DUPFD_CLOEXEC, 3) : fcntl(status_fd, F_SETFD, FD_CLOEXEC);
    if (fd < 0)
      die_errno("fcntl", "--status-fd %d", status_fd);
    g_report.status_fd = status_fd <= 2 ? fd : status_fd;
  }
  /* Our caller's death reaches us as a catchable signal, so the sandbox
   * is killed and its cgroup removed even when tsbuild gets SIGKILL. */
  if (prctl(PR_SET_PDEATHSIG, KILL_SIGNAL, 0, 0, 0) < 0)
    die_errno("prctl", "PR_SET_PDEATHSIG");
  if (getppid() != ppid)
    die("the caller exited before the sandbox started");
  signal(SIGPIPE, SIG_IGN);

  set_stage("spec");
  char *text;
  size_t text_len;
  if (spec_file != NULL) {
    cleanup_fd int fd = TFR(open(spec_file, O_RDONLY | O_CLOEXEC));
    if (fd < 0)
      die_errno("open", "open spec %s", spec_file);
    text = read_spec(fd, spec_file, &text_len);
  } else {
    text = read_spec(spec_fd, "--spec-fd", &text_len);
    close(spec_fd);
  }
  struct json root;
  char err[160];
  if (!json_parse(text, text_len, &root, err, sizeof err))
    die_fail(EINVAL, "spec: invalid JSON: %s", err);
  free(text);
  struct sandbox_config cfg;
  if (exec_mode) {
    exec_spec_parse(&root, &cfg);
    run_exec(&cfg, (pid_t)target, control_fd);
  }
  spec_parse(&root, &cfg);
  TRACE("helper: spec parsed");
  run_helper(&cfg, control_fd);
}
#endif
