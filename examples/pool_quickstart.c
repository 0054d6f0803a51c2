/* The pathos quickstart in C:
 *
 *   from pathos.pools import ProcessPool
 *   def power(base, exponent): return base ** exponent
 *   pool = ProcessPool(nodes=4)
 *   print(pool.map(power, [1, 2, 3, 4, 5], [2, 3, 2, 4, 3]))
 *
 * prints [1, 8, 9, 256, 125]. */
#include <hodos/hodos.h>
#include <stdio.h>

/* power(base, exponent): the item's two arguments are the task's inputs. */
static int power(hd_task *t, void *data) {
  (void)data;
  int64_t base, exponent, result = 1;
  if (hd_value_get_int(hd_task_input(t, 0), &base) != HD_OK ||
      hd_value_get_int(hd_task_input(t, 1), &exponent) != HD_OK)
    return hd_task_fail(t, "power takes two integers");
  if (exponent < 0)
    return hd_task_fail(t, "negative exponent %lld", (long long)exponent);
  for (int64_t i = 0; i < exponent; i++)
    result *= base;
  hd_value *v;
  int rc = hd_value_new_int(result, &v);
  return rc == HD_OK ? hd_task_set_output(t, v) : rc;
}

int main(void) {
  /* Register before the pool's workers are forked: they find it by name. */
  int rc = hd_fn_register("power", power, NULL);
  const int64_t b[] = {1, 2, 3, 4, 5}, e[] = {2, 3, 2, 4, 3};
  hd_value *bases[5] = {0}, *exponents[5] = {0};
  for (int i = 0; i < 5 && rc == HD_OK; i++) {
    rc = hd_value_new_int(b[i], &bases[i]);
    if (rc == HD_OK)
      rc = hd_value_new_int(e[i], &exponents[i]);
  }
  hd_pool *pool = NULL;
  hd_results *res = NULL;
  if (rc == HD_OK)
    rc = hd_pool_new("processes", 4, &pool); /* ProcessPool(nodes=4) */
  if (rc == HD_OK) {
    hd_list lists[] = {{bases, 5}, {exponents, 5}};
    rc = hd_pool_map(pool, "power", lists, 2, &res); /* pool.map(...) */
  }
  if (rc != HD_OK) {
    fprintf(stderr, "pool_quickstart: %s\n", hd_strerror(rc));
    for (size_t i = 0; i < hd_results_count(res); i++)
      if (hd_results_error(res, i) != NULL)
        fprintf(stderr, "  item %zu: %s\n", i, hd_results_error(res, i));
  } else {
    printf("[");
    for (size_t i = 0; i < hd_results_count(res); i++) {
      int64_t v = 0;
      hd_value_get_int(hd_results_value(res, i), &v);
      printf("%s%lld", i ? ", " : "", (long long)v);
    }
    printf("]\n");
  }
  hd_results_free(res);
  hd_pool_free(pool);
  for (int i = 0; i < 5; i++) {
    hd_value_unref(bases[i]);
    hd_value_unref(exponents[i]);
  }
  return rc == HD_OK ? 0 : 1;
}
