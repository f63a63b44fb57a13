/* cmd_init.c — `mimic init`: initial weights of a model as safetensors. */
#include <string.h>

#include "cli.h"
#include "init.h"
#include "safetensors.h"

static const char *help =
    "usage: mimic init FILE -o WEIGHTS.safetensors [--seed N] [-D name=value]...\n"
    "Write every weight of the model, initialised as its `init:` says. The values depend\n"
    "only on the seed and each weight's name. The file is written atomically.\n";

int cmd_init(int argc, char **argv) {
  Diag d;
  diag_init(&d);
  CliModel m = {0};
  const char *out = NULL, *v;
  int64_t seed = 0;
  for (int i = 1; i < argc; i++) {
    int r = cli_model_arg(&m, argc, argv, &i, &d);
    if (r < 0) return EXIT_USER;
    if (r) continue;
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      fputs(help, stdout);
      return EXIT_OK;
    }
    if ((v = cli_opt("-o", argc, argv, &i, &d))) out = v;
    else if ((v = cli_opt("--seed", argc, argv, &i, &d))) {
      if (cli_parse_int(v, &seed) || seed < 0) {
        diag_error(&d, SRCLOC_NONE, "--seed needs a non-negative integer, got '%s'", v);
        return EXIT_USER;
      }
    } else if (argv[i][0] == '-' || m.path) {
      diag_error(&d, SRCLOC_NONE, "init: unexpected argument '%s'", argv[i]);
      return EXIT_USER;
    } else m.path = argv[i];
    if (d.nerr) return EXIT_USER;
  }
  if (!m.path || !out) {
    if (m.path) diag_error(&d, SRCLOC_NONE, "init: -o WEIGHTS.safetensors is required");
    else fputs(help, stderr);
    return EXIT_USER;
  }
  Graph *g = cli_load(&m, 0, NULL, &d);
  if (!g) return EXIT_USER;
  TensorSet ws;
  tset_init(&ws);
  int rc = init_weights(g, (uint64_t)seed, &ws, &d) || st_write(out, &ws, &d) ? EXIT_USER : EXIT_OK;
  if (rc == EXIT_OK) {
    int64_t count = 0;
    for (int i = 0; i < ws.n; i++) count += shape_numel(&ws.t[i]->shape);
    printf("wrote %s: %d tensors, %lld parameters (seed %lld)\n", out, ws.n, (long long)count, (long long)seed);
  }
  tset_free(&ws);
  ir_graph_free(g);
  return rc;
}
