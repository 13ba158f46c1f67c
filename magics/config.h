/* config: the kernel's settings (%config): backend, region, bucket and the
 * rest, each checked when it is set. */
#ifndef SM_CONFIG_H
#define SM_CONFIG_H

#include <jansson.h>

#include "error.h"

typedef struct sm_config sm_config;

/* New settings with their defaults (region from AWS_REGION or
 * AWS_DEFAULT_REGION when set). */
sm_config *sm_config_new(void);
void sm_config_destroy(sm_config **self);

/* Current value of `key` (borrowed; "" when unset), NULL for no such key. */
const char *sm_config_get(const sm_config *self, const char *key);

/* Check and set `key`. Returns 0, or -1 with `err` saying what is allowed
 * (and the closest key for an unknown one). */
int sm_config_set(sm_config *self, const char *key, const char *value,
                  sm_error *err);

/* Nonzero when boolean setting `key` is on (true, yes, on, 1). */
int sm_config_is_true(const sm_config *self, const char *key);

/* Number of keys, and the name and description of key i (borrowed). */
size_t sm_config_count(void);
const char *sm_config_key(size_t i);
const char *sm_config_describe(size_t i);

/* All settings as a new object key -> value. */
json_t *sm_config_to_json(const sm_config *self);

#endif
