/* connection: parsing the connection file with jansson. */
#include "connection.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int get_port(json_t *root, const char *name, int *port, sm_error *err)
{
    json_t *v = json_object_get(root, name);
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        json_integer_value(v) > 65535)
        return sm_error_set(err, "'%s' must be a port number", name);
    *port = (int)json_integer_value(v);
    return 0;
}

static int get_string(json_t *root, const char *name, const char *fallback,
                      char *buf, size_t size, sm_error *err)
{
    json_t *v = json_object_get(root, name);
    const char *s = v ? json_string_value(v) : fallback;
    if (!s)
        return sm_error_set(err, "'%s' must be a string", name);
    if (strlen(s) >= size)
        return sm_error_set(err, "'%s' is too long", name);
    snprintf(buf, size, "%s", s);
    return 0;
}

static int get_key(sm_connection *self, json_t *root, sm_error *err)
{
    json_t *v = json_object_get(root, "key");
    if (v && !json_is_string(v))
        return sm_error_set(err, "'key' must be a string");
    const char *key = v ? json_string_value(v) : "";
    self->key_len = v ? json_string_length(v) : 0;
    self->key = malloc(self->key_len + 1);
    if (!self->key)
        return sm_error_set(err, "out of memory");
    memcpy(self->key, key, self->key_len + 1);
    return 0;
}

int sm_connection_load(sm_connection *self, const char *path, sm_error *err)
{
    *self = (sm_connection){0};
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root)
        return sm_error_set(err, "cannot read connection file %s: %s", path,
                            jerr.text);
    int rc = json_is_object(root) ? 0 : sm_error_set(err, "not a JSON object");
    if (!rc)
        rc = get_string(root, "transport", "tcp", self->transport,
                        sizeof self->transport, err);
    if (!rc)
        rc = get_string(root, "ip", "127.0.0.1", self->ip, sizeof self->ip, err);
    if (!rc)
        rc = get_string(root, "signature_scheme", "hmac-sha256",
                        self->signature_scheme, sizeof self->signature_scheme,
                        err);
    if (!rc)
        rc = get_port(root, "shell_port", &self->shell_port, err);
    if (!rc)
        rc = get_port(root, "iopub_port", &self->iopub_port, err);
    if (!rc)
        rc = get_port(root, "stdin_port", &self->stdin_port, err);
    if (!rc)
        rc = get_port(root, "control_port", &self->control_port, err);
    if (!rc)
        rc = get_port(root, "hb_port", &self->hb_port, err);
    if (!rc)
        rc = get_key(self, root, err);
    if (!rc && strcmp(self->transport, "tcp") && strcmp(self->transport, "ipc"))
        rc = sm_error_set(err, "transport must be tcp or ipc, not '%s'",
                          self->transport);
    json_decref(root);
    if (rc) {
        char why[sizeof err->message];
        snprintf(why, sizeof why, "%s", err ? err->message : "");
        sm_error_clear(err);
        sm_error_set(err, "bad connection file %s: %s", path, why);
        sm_connection_clear(self);
    }
    return rc;
}

void sm_connection_endpoint(const sm_connection *self, int port, char *buf,
                            size_t size)
{
    if (strcmp(self->transport, "ipc") == 0)
        snprintf(buf, size, "ipc://%s-%d", self->ip, port);
    else
        snprintf(buf, size, "tcp://%s:%d", self->ip, port);
}

void sm_connection_clear(sm_connection *self)
{
    if (self->key) {
        sodium_memzero(self->key, self->key_len);
        free(self->key);
    }
    self->key = NULL;
    self->key_len = 0;
}
