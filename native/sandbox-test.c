/*
 * Unit tests (TAP) for the pure parts of sandbox.c: JSON, paths, overlay
 * options, capability mask, cgroup path logic, the setup op list, and the
 * spec parser's error reports. Built with ASan/UBSan by `make check`.
 */
#define SANDBOX_NO_MAIN
#include "sandbox.c"

static int tests_run, tests_failed;

static void ok(bool cond, const char *name)
{
  tests_run++;
  if (!cond)
    tests_failed++;
  printf("%sok %d - %s\n", cond ? "" : "not ", tests_run, name);
}

static void is_str(const char *got, const char *want, const char *name)
{
  bool same = got != NULL && want != NULL ? strcmp(got, want) == 0 : got == want;
  ok(same, name);
  if (!same)
    printf("#   got:  %s\n#   want: %s\n", got ? got : "(null)", want ? want : "(null)");
}

static void test_paths(void)
{
  static const char *const cases[][2] = {
      {"/", "/"},         {"//a//b/", "/a/b"}, {"/a/./b/../c", "/a/c"}, {"/../..", "/"},
      {"/a/..", "/"},     {"/a/b/..", "/a"},   {"/.hidden/x", "/.hidden/x"}, {"/a/...", "/a/..."},
  };
  for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
    char *n = path_normalize(cases[i][0]);
    char name[64];
    snprintf(name, sizeof name, "path_normalize(%s)", cases[i][0]);
    is_str(n, cases[i][1], name);
    free(n);
  }
  char *j = path_join("/a/", "/b");
  is_str(j, "/a/b", "path_join strips duplicate slashes");
  free(j);
  j = path_join("/", "x/y");
  is_str(j, "/x/y", "path_join from /");
  free(j);
  ok(path_has_dotdot("/a/../b"), "path_has_dotdot finds ..");
  ok(!path_has_dotdot("/a/..b/c..") && !path_has_dotdot("/..."), "path_has_dotdot ignores names with dots");
}

static void test_overlay(void)
{
  const char *lower[] = {"/l/a:b", "/l/c,d"};
  char *o = overlay_options(lower, 2, "/u\\p", "/w", "/oldroot");
  is_str(o, "lowerdir=/oldroot/l/a\\:b:/oldroot/l/c\\,d,upperdir=/oldroot/u\\\\p,workdir=/oldroot/w",
         "overlay_options escapes : , and \\");
  free(o);
  char name[16];
  layer_link_name(0, name);
  is_str(name, "0", "layer_link_name(0)");
  layer_link_name(35, name);
  is_str(name, "z", "layer_link_name(35)");
  layer_link_name(36, name);
  is_str(name, "10", "layer_link_name(36)");
  layer_link_name(OVERLAY_MAX_LOWER - 1, name);
  is_str(name, "dv", "layer_link_name(499)");
  /* The symlink form of the largest stack fits in one page with room. */
  const char **names = xcalloc(OVERLAY_MAX_LOWER, sizeof *names);
  char (*buf)[16] = xcalloc(OVERLAY_MAX_LOWER, 16);
  for (size_t i = 0; i < OVERLAY_MAX_LOWER; i++) {
    layer_link_name(i, buf[i]);
    names[i] = buf[i];
  }
  o = overlay_options(names, OVERLAY_MAX_LOWER, "U", "W", "");
  ok(strlen(o) < 2048, "500 symlinked layers need less than 2 KiB of options");
  free(o);
  free(names);
  free(buf);
}

static void test_caps_and_status(void)
{
  ok(default_capability_mask() == UINT64_C(0xa80425fb), "default capability mask is docker's 00000000a80425fb");
  ok(cpu_quota_us(1.5, 100000) == 150000, "cpu_quota_us(1.5)");
  ok(cpu_quota_us(0.001, 100000) == 1000, "cpu_quota_us clamps to the 1 ms minimum");
  int status, sig;
  wait_status_decode(42 << 8, &status, &sig);
  ok(status == 42 && sig == 0, "wait status: exit 42");
  wait_status_decode(SIGTERM, &status, &sig);
  ok(status == 143 && sig == SIGTERM, "wait status: SIGTERM is 143");
}

static void test_cgroup_paths(void)
{
  const char *text = "12:pids:/p\n4:memory:/a/b\n1:cpu,cpuacct:/c\n0::/d\n";
  char *p = cgroup_own_path(text, "memory");
  is_str(p, "/a/b", "cgroup_own_path memory");
  free(p);
  p = cgroup_own_path(text, "cpuacct");
  is_str(p, "/c", "cgroup_own_path in a combined hierarchy");
  free(p);
  p = cgroup_own_path(text, NULL);
  is_str(p, "/d", "cgroup_own_path v2");
  free(p);
  p = cgroup_own_path("4:memory:/x\n", NULL);
  is_str(p, NULL, "cgroup_own_path v2 absent");
  p = cgroup_own_path(text, "blkio");
  is_str(p, NULL, "cgroup_own_path unknown controller");
  p = cgroup_base("/own", "tsbuild");
  is_str(p, "/own/tsbuild", "cgroup_base relative");
  free(p);
  p = cgroup_base("/own", "/abs/x/");
  is_str(p, "/abs/x", "cgroup_base absolute");
  free(p);
  p = cgroup_base("/", "tsbuild");
  is_str(p, "/tsbuild", "cgroup_base from the root");
  free(p);
  ok(has_word("cpuset cpu io memory pids\n", "cpu") && !has_word("cpuset io", "cpu"), "has_word is exact");
  uint64_t v = 0;
  ok(keyed_value("low 0\nhigh 0\noom 3\noom_kill 2\n", "oom_kill", &v) && v == 2, "keyed_value oom_kill");
  ok(!keyed_value("oom_kill_x 1\n", "oom_kill", &v), "keyed_value needs the whole key");
}

static void test_json(void)
{
  struct json j;
  char err[160];
  const char *doc = "{\"a\": [1, -2.5e1, true, false, null], \"s\": \"x\\u00e9\\ud83d\\ude00\\n\", \"o\": {}}";
  ok(json_parse(doc, strlen(doc), &j, err, sizeof err), "json: valid document");
  const struct json *a = json_member(&j, "a");
  ok(a && a->type == JSON_ARRAY && a->n == 5 && a->items[1].number == -25, "json: array and numbers");
  const struct json *s = json_member(&j, "s");
  is_str(s ? s->string : NULL, "x\xc3\xa9\xf0\x9f\x98\x80\n", "json: \\u escapes and surrogate pairs to UTF-8");
  json_free(&j);
  static const char *const bad[] = {
      "{\"a\":1,}", "{\"a\":1,\"a\":2}", "\"\\u0000\"", "\"\\ud800\"", "[01]", "{\"a\" 1}", "[1] x", "\"\t\"", "",
      "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
  };
  for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
    char name[160];
    snprintf(name, sizeof name, "json: rejects %.40s", bad[i]);
    bool parsed = json_parse(bad[i], strlen(bad[i]), &j, err, sizeof err);
    ok(!parsed, name);
    if (parsed)
      json_free(&j);
  }
  struct strbuf b = {0};
  sb_json_string(&b, "a\"b\\\n\x01");
  is_str(b.s, "\"a\\\"b\\\\\\n\\u0001\"", "sb_json_string escapes");
  free(b.s);
}

static bool parse_spec_text(const char *text, struct json *root, struct sandbox_config *cfg)
{
  char err[160];
  if (!json_parse(text, strlen(text), root, err, sizeof err))
    return false;
  spec_parse(root, cfg);
  return true;
}

/* A spec error ends the process with 125 and one JSON line: run it in a child. */
static char *spec_failure(const char *text)
{
  int p[2];
  if (pipe(p) < 0)
    return NULL;
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    g_report.status_fd = p[1];
    struct json root;
    struct sandbox_config cfg;
    parse_spec_text(text, &root, &cfg);
    _exit(0);
  }
  close(p[1]);
  char *out = xcalloc(1, 4096);
  ssize_t n = read_full(p[0], out, 4095);
  close(p[0]);
  int ws = 0;
  waitpid(pid, &ws, 0);
  if (n <= 0 || !WIFEXITED(ws) || WEXITSTATUS(ws) != EXIT_SETUP_FAILED) {
    free(out);
    return NULL;
  }
  return out;
}

static void test_spec(void)
{
  const char *good =
      "{\"rootfs\":{\"lower\":[\"/l1\",\"/l0\"],\"upper\":\"/u\",\"work\":\"/w\"},"
      "\"mounts\":[{\"type\":\"bind\",\"source\":\"/src\",\"target\":\"/mnt/../data/\",\"readonly\":true},"
      "{\"type\":\"tmpfs\",\"target\":\"/tmp\",\"size\":1048576,\"mode\":1023}],"
      "\"args\":[\"sh\",\"-c\",\"true\"],\"env\":[\"A=1\"],\"cwd\":\"/work\",\"uid\":1000,\"gid\":1000,"
      "\"groups\":[10,20],\"hostname\":\"h\",\"network\":\"default\",\"limits\":{\"memory\":67108864,\"cpus\":1.5,"
      "\"pids\":64},\"etc\":{\"hosts\":\"x\"},\"capabilities\":\"all\",\"seccomp\":false,\"stdin\":\"inherit\"}";
  struct json root;
  struct sandbox_config cfg;
  ok(parse_spec_text(good, &root, &cfg), "spec: a full spec parses");
  ok(cfg.rootfs == ROOTFS_OVERLAY && cfg.n_lower == 2 && strcmp(cfg.lower[0], "/l1") == 0, "spec: overlay lowers");
  ok(cfg.n_mounts == 2 && cfg.mounts[0].readonly && strcmp(cfg.mounts[0].target, "/data") == 0,
     "spec: bind target normalised");
  ok(cfg.mounts[1].kind == MOUNT_TMPFS && cfg.mounts[1].size == 1048576 && cfg.mounts[1].mode == 01777,
     "spec: tmpfs size and mode");
  ok(cfg.uid == 1000 && cfg.gid == 1000 && cfg.n_groups == 2 && cfg.groups[1] == 20, "spec: user and groups");
  ok(cfg.network == NETWORK_DEFAULT && cfg.caps == CAPS_ALL && !cfg.seccomp && cfg.stdin_mode == STDIN_INHERIT,
     "spec: enums and booleans");
  ok(cfg.has_memory && cfg.memory == 67108864 && cfg.has_cpus && cfg.cpus == 1.5 && cfg.has_pids && cfg.pids == 64,
     "spec: limits");
  ok(strcmp(cfg.cgroup_parent, "tsbuild") == 0, "spec: cgroup_parent defaults to tsbuild");

  struct setup_op *ops = NULL;
  size_t n = setup_ops_build(&cfg, &ops);
  ok(n >= 6 && ops[0].kind == OP_PROC && ops[1].kind == OP_SYS && ops[2].kind == OP_DEV && ops[3].kind == OP_BIND &&
         ops[4].kind == OP_TMPFS && ops[5].kind == OP_ETC_FILE,
     "setup ops: proc, sys, dev, then the spec's mounts in order, then /etc files");
  ok(ops[n - 1].kind == OP_MKDIR && strcmp(ops[n - 1].target, "/work") == 0,
     "setup ops: the working directory last for an overlay rootfs");
  size_t masks = 0, ro = 0;
  for (size_t i = 0; i < n; i++) {
    masks += ops[i].kind == OP_MASK;
    ro += ops[i].kind == OP_READONLY;
  }
  ok(masks == N_ELEMENTS(MASKED_PATHS) && ro == N_ELEMENTS(READONLY_PATHS), "setup ops: masked and read-only paths");
  free(ops);
  config_free(&cfg);
  json_free(&root);

  const char *ro_dir = "{\"rootfs\":{\"dir\":\"/r\",\"readonly\":true},\"args\":[\"x\"]}";
  ok(parse_spec_text(ro_dir, &root, &cfg), "spec: dir rootfs");
  n = setup_ops_build(&cfg, &ops);
  ok(ops[n - 1].kind == OP_ROOT_READONLY && ops[n - 2].kind == OP_MKDIR,
     "setup ops: a read-only root is made read-only after the working directory exists");
  ok(cfg.network == NETWORK_NONE && cfg.caps == CAPS_DEFAULT && cfg.seccomp && cfg.stdin_mode == STDIN_NULL &&
         strcmp(cfg.cwd, "/") == 0,
     "spec: defaults (network none, default caps, seccomp, stdin null, cwd /)");
  free(ops);
  config_free(&cfg);
  json_free(&root);

  const char *netns = "{\"rootfs\":{\"lower\":[\"/l\"],\"upper\":\"/u\",\"work\":\"/w\",\"readonly\":true},"
                      "\"args\":[\"x\"],\"network\":{\"netns\":\"/run/netns/tsb-1\",\"interface\":{\"name\":\"eth0\","
                      "\"address\":\"10.88.0.5/16\",\"gateway\":\"10.88.0.1\"}},\"tty\":{\"rows\":24,\"cols\":80}}";
  ok(parse_spec_text(netns, &root, &cfg), "spec: network netns, read-only overlay and tty parse");
  ok(cfg.network == NETWORK_NETNS && strcmp(cfg.netns, "/run/netns/tsb-1") == 0, "spec: network {netns} joins a namespace file");
  ok(cfg.tty && cfg.tty_rows == 24 && cfg.tty_cols == 80, "spec: tty size");
  ok(cfg.if_name != NULL && strcmp(cfg.if_name, "eth0") == 0 && cfg.if_prefix == 16 && ntohl(cfg.if_addr.s_addr) == 0x0a580005 &&
         cfg.if_has_gateway && ntohl(cfg.if_gateway.s_addr) == 0x0a580001,
     "spec: network interface address, prefix and gateway");
  n = setup_ops_build(&cfg, &ops);
  ok(ops[n - 1].kind == OP_ROOT_READONLY, "setup ops: a read-only overlay root is made read-only last");
  free(ops);
  config_free(&cfg);
  json_free(&root);

  const char *exec_spec = "{\"args\":[\"sh\"],\"env\":[\"A=1\"],\"cwd\":\"/w\",\"uid\":5,\"stdin\":\"inherit\",\"tty\":{}}";
  char errbuf[160];
  ok(json_parse(exec_spec, strlen(exec_spec), &root, errbuf, sizeof errbuf), "exec spec: JSON");
  exec_spec_parse(&root, &cfg);
  ok(cfg.uid == 5 && strcmp(cfg.cwd, "/w") == 0 && cfg.tty && cfg.tty_rows == 0 && cfg.stdin_mode == STDIN_INHERIT &&
         cfg.seccomp && cfg.caps == CAPS_DEFAULT,
     "exec spec: process fields and defaults");
  config_free(&cfg);
  json_free(&root);

  static const char *const bad[][2] = {
      {"{\"rootfs\":{\"dir\":\"/r\"},\"args\":[\"x\"],\"network\":{\"netns\":\"rel\"}}", "\\\"rel\\\" is not an absolute path"},
      {"{\"rootfs\":{\"dir\":\"/r\"},\"args\":[\"x\"],\"network\":{\"pid\":1}}", "spec.network: unknown field"},
      {"{\"rootfs\":{\"dir\":\"/r\"},\"args\":[\"x\"],\"network\":{\"netns\":\"/n\",\"interface\":{\"name\":\"eth0\",\"address\":\"10.0.0.300/8\"}}}",
       "is not an IPv4 address"},
      {"{\"rootfs\":{\"dir\":\"/r\"},\"args\":[\"x\"],\"network\":{\"netns\":\"/n\",\"interface\":{\"name\":\"eth0\",\"address\":\"10.0.0.3\"}}}",
       "is not ADDRESS/PREFIX"},
      {"{\"rootfs\":{\"dir\":\"/r\"},\"args\":[\"x\"],\"tty\":{\"rows\":70000}}", "spec.tty.rows"},
      {"{\"rootfs\":{\"dir\":\"/r\"},\"args\":[\"x\"],\"bogus\":1}", "spec: unknown field \\\"bogus\\\""},
      {"{\"rootfs\":{\"dir\":\"r\"},\"args\":[\"x\"]}", "spec.rootfs.dir: \\\"r\\\" is not an absolute path"},
      {"{\"rootfs\":{\"dir\":\"/r\"},\"args\":[]}", "spec.args: a command is needed"},
      {"{\"rootfs\":{\"lower\":[],\"upper\":\"/u\",\"work\":\"/w\"},\"args\":[\"x\"]}", "at least one lower"},
      {"{\"rootfs\":{\"dir\":\"/r\"},\"args\":[\"x\"],\"uid\":-1}", "spec.uid: expected an integer"},
      {"{\"rootfs\":{\"dir\":\"/r\"},\"args\":[\"x\"],\"network\":\"bridge\"}", "unknown value \\\"bridge\\\""},
      {"{\"rootfs\":{\"dir\":\"/r\"},\"args\":[\"x\"],\"limits\":{\"cpus\":0}}", "spec.limits.cpus"},
      {"{\"rootfs\":{\"dir\":\"/r\"},\"args\":[\"x\"],\"mounts\":[{\"type\":\"bind\",\"source\":\"/a\",\"target\":\"/\"}]}",
       "cannot mount over /"},
      {"{\"rootfs\":{\"dir\":\"/r/../etc\"},\"args\":[\"x\"]}", "contains \\\"..\\\""},
  };
  for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
    char *line = spec_failure(bad[i][0]);
    char name[128];
    snprintf(name, sizeof name, "spec error reported: %s", bad[i][1]);
    bool good_line = line != NULL && strncmp(line, "{\"ok\":false,\"stage\":\"spec\",\"syscall\":null,\"errno\":22,", 52) == 0 &&
                     strstr(line, bad[i][1]) != NULL;
    ok(good_line, name);
    if (!good_line)
      printf("#   got: %s", line ? line : "(no failure)\n");
    free(line);
  }
}

int main(void)
{
  test_paths();
  test_overlay();
  test_caps_and_status();
  test_cgroup_paths();
  test_json();
  test_spec();
  printf("1..%d\n", tests_run);
  return tests_failed ? 1 : 0;
}
