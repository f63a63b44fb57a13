/* model.c — option parsing shared by the commands and model loading (YAML or .mir). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_parse_int(const char *s, int64_t *out) {
  char *end;
  if (!s || !*s) return -1;
  long long v = strtoll(s, &end, 10);
  if (*end) return -1;
  *out = v;
  return 0;
}

const char *cli_opt(const char *name, int argc, char **argv, int *i, Diag *d) {
  size_t n = strlen(name);
  const char *a = argv[*i];
  if (strncmp(a, name, n)) return NULL;
  if (a[n] == '=') return a + n + 1;
  if (a[n]) return NULL;
  if (*i + 1 >= argc) {
    diag_error(d, SRCLOC_NONE, "option %s needs a value", name);
    return "";
  }
  return argv[++*i];
}

int cli_model_arg(CliModel *m, int argc, char **argv, int *i, Diag *d) {
  const char *a = argv[*i];
  if (!strncmp(a, "-D", 2)) {
    const char *def = a[2] ? a + 2 : (*i + 1 < argc ? argv[++*i] : NULL);
    const char *eq = def ? strchr(def, '=') : NULL;
    if (!eq || eq == def || (size_t)(eq - def) >= sizeof m->store[0]) {
      diag_error(d, SRCLOC_NONE, "-D needs name=value, got '%s'", def ? def : "");
      return -1;
    }
    if (m->ndefines == CLI_MAX_DEFINES) {
      diag_error(d, SRCLOC_NONE, "too many -D options (at most %d)", CLI_MAX_DEFINES);
      return -1;
    }
    char *name = m->store[m->ndefines];
    memcpy(name, def, (size_t)(eq - def));
    name[eq - def] = 0;
    m->defines[m->ndefines++] = (FeDefine){name, eq + 1, {"<command line>", 0, 0}};
    return 1;
  }
  const char *v = cli_opt("--batch", argc, argv, i, d);
  if (v) {
    if (cli_parse_int(v, &m->batch) || m->batch < 1) {
      diag_error(d, SRCLOC_NONE, "--batch needs a positive integer, got '%s'", v);
      return -1;
    }
    return 1;
  }
  return 0;
}

int cli_is_mir(const char *path) {
  size_t n = strlen(path);
  return n >= 4 && !strcmp(path + n - 4, ".mir");
}

Graph *cli_load(const CliModel *m, int64_t batch, FeInfo *info, Diag *d) {
  if (cli_is_mir(m->path)) {
    if (m->ndefines) {
      diag_error(d, SRCLOC_NONE, "-D applies to YAML models; %s is IR text with fixed shapes", m->path);
      return NULL;
    }
    if (info) memset(info, 0, sizeof *info);
    return ir_parse_file(m->path, d);
  }
  FeOptions opt = {m->defines, m->ndefines, batch > 0 ? batch : m->batch > 0 ? m->batch : 1};
  return fe_load_yaml(m->path, &opt, info, d);
}
