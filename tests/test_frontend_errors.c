/* test_frontend_errors.c — the front end's errors: one test per kind of mistake, each a
 * single message at an exact file:line:col, and no graph returned. */
#include "check.h"
#include "fe_harness.h"

/* ---- errors: one message each, at the right place ---- */

static void test_errors(void) {
  const FeDefine bad_def[] = {{"nope", "1", {"<command line>", 0, 0}}};
  CHECK_STR(error_of("params: {a: 1}\n", bad_def, 1), "<command line>: error: no parameter named 'nope'");
  const FeDefine bad_val[] = {{"a", "2 +", {"<command line>", 0, 0}}};
  CHECK_STR(error_of("params: {a: 1}\n", bad_val, 1),
            "<command line>: error: in -D a=2 +: expected an expression but found the end of the text");
  static const char *const cases[][2] = {
      {"inputs:\n  x: {shape: [2, 3}\n",
       "m.yaml:2:19: error: YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence at "
       "line 2, column 14)"},
      {"a: 1\n", "m.yaml:1:1: error: unknown key 'a' (a model has name, params, include, inputs, weights, modules, body "
                 "and outputs)"},
      {"- 1\n", "m.yaml:1:1: error: a model file is a mapping (name, params, inputs, weights, modules, body, outputs), "
                "found a sequence"},
      {"inputs: {x: {shape: [2]}}\nbody: ['y = fooo(x)']\n", "m.yaml:2:13: error: unknown op 'fooo'"},
      {"inputs: {x: {shape: [2]}}\nbody: ['y = relu(x, x)']\n",
       "m.yaml:2:21: error: too many arguments for relu(x) (got 2)"},
      {"inputs: {x: {shape: [2]}}\nbody: ['y = linear(x)']\n",
       "m.yaml:2:13: error: missing input 'w' of linear(x, w, b?)"},
      {"inputs: {x: {shape: [2,4]}}\nbody: ['y = attention(x, x, x)']\n",
       "m.yaml:2:13: error: missing argument 'heads=' of attention(q, k, v, bias?, heads=, scale=0.0)"},
      {"inputs: {x: {shape: [2]}}\nbody: ['y = softmax(x, dim=0)']\n",
       "m.yaml:2:24: error: softmax(x, axis=-1) has no argument 'dim'"},
      {"inputs: {x: {shape: [2]}}\nbody: ['y = softmax(x, axis=0, axis=0)']\n",
       "m.yaml:2:32: error: argument 'axis' is given twice"},
      {"inputs: {x: {shape: [2]}}\nbody: ['y = softmax(x, axis=2)']\n",
       "m.yaml:2:29: error: axis 2 is out of range for a tensor of rank 1"},
      {"inputs: {x: {shape: [2]}}\nbody: ['y = sum(x, axes=[0, -1])']\n",
       "m.yaml:2:29: error: axis -1 is given twice"},
      {"inputs: {x: {shape: [2]}}\nbody: ['y = reshape(x, [3, -1])']\n",
       "m.yaml:2:13: error: cannot reshape [2] (2 elements) into a shape with -1 and 3 other elements"},
      {"inputs: {x: {shape: [2]}}\nbody: ['y = x + z']\n", "m.yaml:2:17: error: unknown name 'z'"},
      {"inputs: {x: {shape: [2, 3]}}\nbody: ['y = x[0, 1, 2]']\n",
       "m.yaml:2:14: error: too many indices (3) for a tensor of rank 2"},
      {"inputs: {x: {shape: [2, 3]}}\nbody: ['y = x[:, 3]']\n",
       "m.yaml:2:18: error: index 3 is out of range for axis 1 of size 3"},
      {"inputs: {x: {shape: [2, 3]}}\nbody: ['y = x[::0]']\n", "m.yaml:2:17: error: slice step must be positive, got 0"},
      {"inputs: {x: {shape: [2, 3]}}\nbody: ['y = x[..., ...]']\n",
       "m.yaml:2:14: error: an index can contain only one '...'"},
      {"inputs: {x: {shape: [2, 3]}, i: {shape: [2], dtype: i32}}\nbody: ['y = x[i]']\n",
       "m.yaml:2:15: error: indexing with a tensor is not supported; use gather(x, idx, axis=...)"},
      {"inputs: {x: {shape: [2, 3]}}\nbody: ['y = x + [1, 2]']\n",
       "m.yaml:2:15: error: operator '+' needs numbers or tensors, got a list"},
      {"inputs: {x: {shape: [2, 3]}}\nbody: ['y = x + 1 / 0']\n", "m.yaml:2:19: error: division by zero"},
      {"inputs: {x: {shape: [2, 3], dtype: i32}}\nbody: ['y = x * 0.5']\n",
       "m.yaml:2:15: error: cannot combine an i32 tensor with the non-integer number 0.5"},
      {"inputs: {x: {shape: [2, 3]}}\nbody: ['y = x + x[:, 0]']\n",
       "m.yaml:2:15: error: add: shapes [2,3] and [2] do not broadcast"},
      {"inputs: {x: {shape: [2, 3]}}\nbody: ['y = relu(x) $ 2']\n", "m.yaml:2:21: error: unexpected character '$'"},
      {"inputs: {x: {shape: [2, 3]}}\nbody: ['y = relu(x))']\n",
       "m.yaml:2:20: error: unexpected ')' after the end of the expression"},
      {"inputs: {x: {shape: [2, 3]}}\nbody: ['y = f(x, a=1, x)']\n",
       "m.yaml:2:23: error: a positional argument cannot follow a keyword argument"},
      {"inputs: {x: {shape: [2, 3]}}\nbody: ['relu(x)']\n",
       "m.yaml:2:13: error: expected '=' after 'relu' (a statement is 'name = expression') but found '('"},
      {"inputs: {x: {shape: [2, 3]}}\nbody: ['y = 2x']\n", "m.yaml:2:13: error: malformed number '2x'"},
      {"inputs: {x: {shape: [batch, depth]}}\n", "m.yaml:1:29: error: undefined parameter 'depth'"},
      {"inputs: {x: {shape: [2, -3]}}\n", "m.yaml:1:25: error: shape extents must be non-negative integers, got -3"},
      {"params: {d: 5}\ninputs: {x: {shape: [d / 2]}}\n",
       "m.yaml:2:22: error: shape extents must be non-negative integers, got 2.5"},
      {"inputs: {x: {shape: 3}}\n", "m.yaml:1:21: error: shape must be a sequence, found a scalar"},
      {"inputs: {x: {shape: [2], dtype: int8}}\n",
       "m.yaml:1:33: error: unknown dtype 'int8' (expected f32, f64, i32 or bool)"},
      {"inputs: {x: {shape: [2], dtype: i64}}\n",
       "m.yaml:1:33: error: unknown dtype 'i64' (expected f32, f64, i32 or bool)"},
      {"inputs: {x: {shape: [2], type: f32}}\n",
       "m.yaml:1:26: error: unknown key 'type' in input 'x' (expected shape or dtype)"},
      {"weights: {w: {shape: [2], dtype: i32}}\n", "m.yaml:1:34: error: weights must be f32 or f64, got i32"},
      {"weights: {w: {shape: [2], init: kaiming}}\n",
       "m.yaml:1:33: error: unknown initializer 'kaiming' (expected zeros, ones, fill, normal, trunc_normal, uniform "
       "or xavier_uniform)"},
      {"weights: {w: {shape: [2], init: normal(1, 2, 3)}}\n",
       "m.yaml:1:33: error: wrong number of arguments for initializer normal(std) or normal(mean, std) (got 3)"},
      {"weights: {w: {shape: [2], init: 3}}\n",
       "m.yaml:1:33: error: an initializer is a name or a call such as trunc_normal(0.02)"},
      {"inputs: {x: {shape: [2]}}\nweights: {x: {shape: [2]}}\n",
       "m.yaml:2:11: error: 'x' is already an input; a weight needs another name"},
      {"inputs: {x: {shape: [2]}}\nweights: {w: {shape: [2]}}\nbody: ['w = x']\n",
       "m.yaml:3:9: error: cannot assign to 'w': it is a weight"},
      {"params: {d: 2}\ninputs: {x: {shape: [2]}}\nbody: ['d = x']\n",
       "m.yaml:3:9: error: cannot assign to 'd': it is a parameter"},
      {"inputs: {x: {shape: [2]}}\ninputs: {y: {shape: [2]}}\n",
       "m.yaml:2:1: error: duplicate key 'inputs' (first at line 1)"},
      {"params: {a: b, b: c, c: a}\n", "m.yaml:1:25: error: parameter 'a' depends on itself"},
      {"params: {batch: 3}\n", "m.yaml:1:10: error: 'batch' is reserved and cannot be a parameter"},
      {"params: {a: [1, 2]}\n", "m.yaml:1:13: error: parameter 'a' must be a number or an expression, found a sequence"},
      {"params: {a: 1 +}\n", "m.yaml:1:16: error: expected an expression but found the end of the text"},
      {"inputs: {x: {shape: [2]}}\nbody: ['y = x']\noutputs: [y, z]\n", "m.yaml:3:14: error: output 'z' is not defined"},
      {"inputs: {x: {shape: [2]}}\nbody: ['y = x', 'n = 2']\noutputs: [y, n]\n",
       "m.yaml:3:14: error: output 'n' must be a tensor, got a number"},
      {"include: [missing.yaml]\n", "m.yaml:1:11: error: cannot read include file 'missing.yaml': No such file or directory"},
      {"include: [m.yaml]\n", "m.yaml:1:11: error: include cycle: m.yaml -> m.yaml"},
      {"inputs: {x: {shape: [2]}}\nbody:\n  - call: {module: nope, args: [x], out: [x]}\n",
       "m.yaml:3:20: error: unknown module 'nope'"},
      {"modules: {b: {inputs: [x], outputs: [x]}}\ninputs: {x: {shape: [2]}}\nbody:\n"
       "  - call: {module: b, args: [x, x], out: [x]}\n",
       "m.yaml:4:29: error: module 'b' takes 1 input, got 2"},
      {"modules: {b: {inputs: [x], outputs: [x]}}\ninputs: {x: {shape: [2]}}\nbody:\n  - call: {module: b, args: [x]}\n",
       "m.yaml:4:5: error: module 'b' returns 1 value: name it in 'out:'"},
      {"modules: {b: {inputs: [x], outputs: [x]}}\ninputs: {x: {shape: [2]}}\nbody:\n"
       "  - call: {module: b, args: [x], out: [x, y]}\n",
       "m.yaml:4:39: error: module 'b' returns 1 value but 'out:' names 2"},
      {"modules: {b: {params: [k], inputs: [x], outputs: [x]}}\ninputs: {x: {shape: [2]}}\nbody:\n"
       "  - call: {module: b, args: [x], out: [x]}\n",
       "m.yaml:4:20: error: parameter 'k' of module 'b' is not bound: give it in 'with:' or define it in the caller"},
      {"modules: {b: {params: [k], inputs: [x], outputs: [x]}}\ninputs: {x: {shape: [2]}}\nbody:\n"
       "  - call: {module: b, args: [x], out: [x], with: {k: 1, kk: 2}}\n",
       "m.yaml:4:57: error: module 'b' has no parameter 'kk' (did you mean 'k'?)"},
      {"modules: {b: {inputs: [x], outputs: [x]}}\ninputs: {x: {shape: [2]}}\nbody:\n"
       "  - repeat: {module: b, times: -1, as: bs, args: [x], out: [x]}\n",
       "m.yaml:4:32: error: repeat 'times' must be a non-negative integer, got -1"},
      {"modules: {b: {inputs: [x], outputs: [x]}}\ninputs: {x: {shape: [2]}}\nbody:\n"
       "  - repeat: {module: b, times: 2, args: [x], out: [x]}\n",
       "m.yaml:4:5: error: repeat needs 'as:' (the weight prefix, e.g. as: blocks)"},
      {"modules: {b: {inputs: [x], outputs: [x]}}\ninputs: {x: {shape: [2]}}\nbody:\n"
       "  - repeat: {module: b, times: 2, as: bs, args: [x], out: [x], every: 1}\n",
       "m.yaml:4:64: error: unknown key 'every' in repeat (expected module, as, times, args, out or with)"},
      {"modules:\n  b:\n    inputs: [x]\n    body:\n      - call: {module: b, args: [x], out: [x]}\n"
       "    outputs: [x]\ninputs: {x: {shape: [2]}}\nbody:\n  - call: {module: b, args: [x], out: [x]}\n",
       "m.yaml:5:24: error: module 'b' instantiates itself"},
      {"modules:\n  b:\n    inputs: [x]\n    weights: {w: {shape: [2]}}\n    outputs: [x]\ninputs: {x: {shape: [2]}}\n"
       "body:\n  - call: {module: b, as: l, args: [x], out: [x]}\n  - call: {module: b, as: l, args: [x], out: [x]}\n",
       "m.yaml:9:27: error: weight 'l.w' is defined twice (first at m.yaml:8:27)"},
      {"modules:\n  b:\n    inputs: [x]\n    outputs: [y]\ninputs: {x: {shape: [2]}}\n"
       "body:\n  - call: {module: b, args: [x], out: [x]}\n",
       "m.yaml:4:15: error: output 'y' of module 'b' is not defined"},
      {"modules:\n  b:\n    input: [x]\n", "m.yaml:3:5: error: unknown key 'input' in module 'b' (expected params, "
                                             "inputs, weights, body or outputs)"},
      {"inputs: {x: {shape: [2]}}\nbody:\n  - loop: {module: b}\n",
       "m.yaml:3:5: error: unknown statement 'loop' (expected call or repeat)"},
      {"inputs: {x: {shape: [2]}}\nbody:\n  - y = x[0: 1]\n",
       "m.yaml:3:5: error: YAML read this statement as a mapping because it contains ': ' (a colon and a space): drop "
       "the space or quote the statement"},
      {"inputs: {x: {shape: [2]}}\nbody:\n  - [1, 2]\n",
       "m.yaml:3:5: error: a body statement is 'name = expression', 'call: {...}' or 'repeat: {...}', found a sequence"},
      {"inputs: {x: {shape: [2]}}\nbody: ['y = block(x)']\nmodules: {block: {inputs: [x], outputs: [x]}}\n",
       "m.yaml:2:13: error: 'block' is a module: instantiate it with a 'call:' statement"},
      {"inputs: {x: {shape: [2]}}\nbody: ['y = input(x)']\n",
       "m.yaml:2:13: error: 'input' cannot be called: declare graph inputs under 'inputs:' and weights under "
       "'weights:'; make constants with full() or iota()"},
      {"inputs: {x: {shape: [2]}}\nbody: ['y = one_hot(x, depth=3, dtype=f16)']\n",
       "m.yaml:2:39: error: unknown dtype 'f16' (expected f32, f64, i32 or bool)"},
      {"inputs: {x: {shape: [2]}}\nbody: ['y = softmax(x, axis=0.5)']\n",
       "m.yaml:2:29: error: argument 'axis' of softmax must be an integer, got 0.5"},
      {"inputs: {x: {shape: [2]}}\nbody: ['y = relu(q)']\n", "m.yaml:2:18: error: unknown name 'q'"},
      {"inputs: {x: {shape: [2]}}\nbody: ['y = sqrt(-4)']\n", "m.yaml:2:13: error: sqrt of a negative number"},
      {"inputs: {x: {shape: [2]}}\nbody: ['y = transpose(x, 0)']\n",
       "m.yaml:2:13: error: transpose(x, a, b) needs 3 positional arguments, got 2"},
      {"inputs: {x: {shape: [2]}}\nbody: ['y = zeros([2], dtype=i32, fill=2)']\n",
       "m.yaml:2:35: error: zeros(shape, dtype=f32) has no argument 'fill'"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const char *got = error_of(cases[i][0], NULL, 0);
    if (strcmp(got, cases[i][1])) fprintf(stderr, "case %zu:\n%s", i, cases[i][0]);
    CHECK_STR(got, cases[i][1]);
  }
  /* an unused module with a statement calling itself is fine: it never runs */
  Graph *g = load("modules:\n  b:\n    inputs: [x]\n    body:\n      - call: {module: b, args: [x], out: [x]}\n"
                  "    outputs: [x]\n", NULL, 0, 1, NULL);
  CHECK(g != NULL);
  ir_graph_free(g);
  /* a file that cannot be read */
  Diag d;
  diag_init(&d);
  d.quiet = 1;
  CHECK(fe_load_yaml(path_of("absent.yaml"), NULL, NULL, &d) == NULL);
  CHECK(strstr(d.last, "absent.yaml: error: cannot read the model file: No such file or directory") != NULL);
}

int main(void) {
  if (scratch_begin()) return 2;
  RUN(test_errors);
  scratch_end();
  return CHECK_DONE();
}
