/* profile: two ini files and the naming rules that join them. */
#include "profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ini.h"

struct sm_profiles {
    sm_ini *config;      /* "[profile x]", "[default]", "[services x]" */
    sm_ini *credentials; /* "[x]" */
};

/* `path` with a leading "~/" made $HOME/; written into out. NULL when it
 * needs $HOME and there is none, or it does not fit. */
static const char *expand_home(const char *path, char *out, size_t size)
{
    if (strncmp(path, "~/", 2) != 0)
        return path;
    const char *home = getenv("HOME");
    if (!home || !*home)
        return NULL;
    int n = snprintf(out, size, "%s/%s", home, path + 2);
    return n < 0 || (size_t)n >= size ? NULL : out;
}

static sm_ini *load_one(const char *path, sm_error *err)
{
    char buf[4096];
    const char *full = path ? expand_home(path, buf, sizeof buf) : NULL;
    return full ? sm_ini_load(full, err) : sm_ini_parse("", 0);
}

sm_profiles *sm_profiles_load_files(const char *config_path,
                                    const char *credentials_path, sm_error *err)
{
    sm_profiles *self = calloc(1, sizeof *self);
    if (!self) {
        sm_error_set(err, "out of memory");
        return NULL;
    }
    self->config = load_one(config_path, err);
    self->credentials = self->config ? load_one(credentials_path, err) : NULL;
    if (!self->credentials) {
        sm_error_set(err, "out of memory");
        sm_profiles_destroy(&self);
    }
    return self;
}

static const char *env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

sm_profiles *sm_profiles_load(sm_error *err)
{
    return sm_profiles_load_files(
        env_or("AWS_CONFIG_FILE", "~/.aws/config"),
        env_or("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials"), err);
}

void sm_profiles_destroy(sm_profiles **self)
{
    if (!self || !*self)
        return;
    sm_ini_destroy(&(*self)->config);
    sm_ini_destroy(&(*self)->credentials);
    free(*self);
    *self = NULL;
}

const char *sm_profile_name(const char *configured)
{
    if (configured && *configured)
        return configured;
    return env_or("AWS_PROFILE", env_or("AWS_DEFAULT_PROFILE", "default"));
}

/* The config file's section for `profile`: "profile NAME"; for "default"
 * "[profile default]" when present, else "[default]". */
static const char *config_section(const sm_profiles *self, const char *profile,
                                  char *out, size_t size)
{
    int n = snprintf(out, size, "profile %s", profile);
    if (n < 0 || (size_t)n >= size)
        return NULL;
    if (strcmp(profile, "default") == 0 &&
        !sm_ini_has_section(self->config, out))
        return "default";
    return out;
}

int sm_profiles_exists(const sm_profiles *self, const char *profile)
{
    char buf[512];
    const char *section = config_section(self, profile, buf, sizeof buf);
    return sm_ini_has_section(self->credentials, profile) ||
           (section && sm_ini_has_section(self->config, section));
}

const char *sm_profiles_get(const sm_profiles *self, const char *profile,
                            const char *key)
{
    const char *v =
        sm_profiles_get_in(self, SM_PROFILE_CREDENTIALS_FILE, profile, key);
    return v ? v
             : sm_profiles_get_in(self, SM_PROFILE_CONFIG_FILE, profile, key);
}

const char *sm_profiles_get_in(const sm_profiles *self, sm_profile_file file,
                               const char *profile, const char *key)
{
    char buf[512];
    if (!self || !profile)
        return NULL;
    if (file == SM_PROFILE_CREDENTIALS_FILE)
        return sm_ini_get(self->credentials, profile, key);
    return sm_ini_get(self->config,
                      config_section(self, profile, buf, sizeof buf), key);
}

const char *sm_profiles_service_get(const sm_profiles *self,
                                    const char *profile,
                                    const char *service_key, const char *key)
{
    char section[512], full[256], buf[512];
    const char *psection =
        self ? config_section(self, profile, buf, sizeof buf) : NULL;
    const char *services =
        sm_ini_get(self ? self->config : NULL, psection, "services");
    if (!services)
        return NULL;
    int n1 = snprintf(section, sizeof section, "services %s", services);
    int n2 = snprintf(full, sizeof full, "%s.%s", service_key, key);
    if (n1 < 0 || (size_t)n1 >= sizeof section || n2 < 0 ||
        (size_t)n2 >= sizeof full)
        return NULL;
    return sm_ini_get(self->config, section, full);
}

int sm_profile_true(const char *value)
{
    return value && strcasecmp(value, "true") == 0;
}
