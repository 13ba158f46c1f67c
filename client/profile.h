/* profile: the AWS shared config and credentials files as one set of named
 * profiles, read the way the AWS CLI reads them. */
#ifndef SM_PROFILE_H
#define SM_PROFILE_H

#include "error.h"

typedef struct sm_profiles sm_profiles;

/* Load both files: AWS_CONFIG_FILE (else ~/.aws/config) and
 * AWS_SHARED_CREDENTIALS_FILE (else ~/.aws/credentials), a leading "~/"
 * meaning $HOME. A missing file counts as empty. NULL with `err` set when
 * a file exists but cannot be read. Free with sm_profiles_destroy. */
sm_profiles *sm_profiles_load(sm_error *err);

/* The same from explicit paths (borrowed; NULL means no such file). */
sm_profiles *sm_profiles_load_files(const char *config_path,
                                    const char *credentials_path,
                                    sm_error *err);

void sm_profiles_destroy(sm_profiles **self);

/* The profile to use: `configured` when not NULL or "", else AWS_PROFILE,
 * else AWS_DEFAULT_PROFILE, else "default". Borrowed (from the argument,
 * the environment or a literal). */
const char *sm_profile_name(const char *configured);

/* Nonzero when `profile` is a section of either file: "[name]" in the
 * credentials file, "[profile name]" in the config file, or for "default"
 * also "[default]" there. */
int sm_profiles_exists(const sm_profiles *self, const char *profile);

/* Value of `key` (lower case) in `profile`: the credentials file first,
 * then the config file. Borrowed, or NULL. */
const char *sm_profiles_get(const sm_profiles *self, const char *profile,
                            const char *key);

/* The same in one file only: the credentials file's "[name]" or the config
 * file's "[profile name]" ("[default]"). */
typedef enum sm_profile_file {
    SM_PROFILE_CREDENTIALS_FILE,
    SM_PROFILE_CONFIG_FILE,
} sm_profile_file;
const char *sm_profiles_get_in(const sm_profiles *self, sm_profile_file file,
                               const char *profile, const char *key);

/* Value of "<service_key>.<key>" in the "[services NAME]" section that the
 * profile's "services = NAME" names (config file only), e.g.
 * ("sagemaker", "endpoint_url"). Borrowed, or NULL. */
const char *sm_profiles_service_get(const sm_profiles *self,
                                    const char *profile,
                                    const char *service_key, const char *key);

/* Nonzero when `value` (borrowed, may be NULL) is "true" in any case: how
 * AWS reads boolean settings from the environment and the files. */
int sm_profile_true(const char *value);

#endif
