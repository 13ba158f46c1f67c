/* datadir: the local service's data directory: where it is, the key pair
 * made at first start (credentials.json, mode 0600), the service file
 * that tells clients where it listens (service.json), and the lock that
 * keeps one server per directory. */
#ifndef SM_DATADIR_H
#define SM_DATADIR_H

#include "error.h"

#define SM_DATADIR_ACCOUNT "000000000000" /* the local account id */
#define SM_DATADIR_REGION "us-east-1"

/* The service's one key pair, its account and default region. Wipe with
 * sm_datadir_credentials_wipe: it holds a secret. */
typedef struct sm_datadir_credentials {
    char access_key[32];
    char secret_key[64];
    char account_id[16];
    char region[32];
} sm_datadir_credentials;

/* Where the service listens, as service.json says. */
typedef struct sm_datadir_service {
    long pid;
    char host[64];
    int port;
    char endpoint_url[128];
} sm_datadir_service;

/* $XDG_DATA_HOME/sagemagic/local, else ~/.local/share/sagemagic/local.
 * New string, or NULL when neither variable is set. */
char *sm_datadir_default(void);

/* Create `dir` and its parents (the last one mode 0700). 0, or -1. */
int sm_datadir_create(const char *dir, sm_error *err);

/* Take DATA_DIR/service.lock for this process (released when it exits or
 * the descriptor closes). The descriptor, or -1 with `err` set when
 * another server holds it. */
int sm_datadir_lock(const char *dir, sm_error *err);

/* Read DATA_DIR/credentials.json into `out`; when it is absent and
 * `create` is set, make a new key pair and write it (mode 0600) first.
 * 0, or -1 with `err` set. */
int sm_datadir_credentials_load(const char *dir, int create,
                                sm_datadir_credentials *out, sm_error *err);
void sm_datadir_credentials_wipe(sm_datadir_credentials *self);

/* Write service.json atomically (temporary file, fsync, rename). */
int sm_datadir_service_write(const char *dir, const sm_datadir_service *svc,
                             sm_error *err);

/* Read service.json: 0, 1 when there is none, -1 with `err` when it
 * cannot be read. */
int sm_datadir_service_read(const char *dir, sm_datadir_service *out,
                            sm_error *err);

/* Remove service.json (the service has stopped). */
void sm_datadir_service_remove(const char *dir);

#endif
