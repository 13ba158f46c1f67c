/* sagemaker_internal: what the sagemaker*.c files share with one another
 * and with nothing else: the model's member rules and a few builders. */
#ifndef SM_SAGEMAKER_INTERNAL_H
#define SM_SAGEMAKER_INTERNAL_H

#include "sagemaker.h"
#include "sagemaker_training.h"

/* Rules of the SageMaker model's shapes used by more than one file. */
extern const sm_awsjson_rule sm_sagemaker_rule_role_arn;     /* RoleArn */
extern const sm_awsjson_rule sm_sagemaker_rule_s3_uri;       /* S3Uri */
extern const sm_awsjson_rule sm_sagemaker_rule_kms_key;      /* KmsKeyId */
extern const sm_awsjson_rule sm_sagemaker_rule_content_type; /* ≤256 */
extern const sm_awsjson_map_rule sm_sagemaker_rule_tags;     /* TagList */

/* Tags as the TagList [{"Key","Value"}] the model wants; count 0 leaves
 * them out. 0 or -1 with `err` set. */
int sm_sagemaker_put_tags(json_t *obj, const sm_sagemaker_kv *tags,
                          size_t count, sm_error *err);

/* An instance type: required, and one that looks like SageMaker's
 * ("ml.m5.large"), so "local" or "m5.large" get a clear sentence rather
 * than the service's enum list. */
int sm_sagemaker_put_instance_type(json_t *obj, const char *member,
                                   const char *value, sm_error *err);

/* An instance group's members: InstanceType (checked as above),
 * InstanceCount (`count`, 1 when 0) and VolumeKmsKeyId (when given). */
int sm_sagemaker_put_instances(json_t *obj, const char *type, int count,
                               const char *volume_kms_key_id, sm_error *err);

/* Put `sub` (stolen) in `obj` as `member` when the building before went
 * well (`rc` 0); else drop it. 0, or -1. */
int sm_sagemaker_put_built(json_t *obj, const char *member, json_t *sub, int rc,
                           sm_error *err);

/* VpcConfig from both lists (both or neither). */
int sm_sagemaker_put_vpc(json_t *obj, const char *const *security_groups,
                         size_t security_group_count,
                         const char *const *subnets, size_t subnet_count,
                         sm_error *err);

/* A training job's or tuning definition's members from `def`: for a
 * tuning job (`tuning` nonzero) the hyperparameters go into
 * StaticHyperParameters and Environment holds at most 48 entries. */
int sm_sagemaker_put_training_def(json_t *obj,
                                  const sm_sagemaker_training_def *def,
                                  int tuning, sm_error *err);

/* The usual Create (or Update) call: send `request` (stolen; NULL means
 * building failed and `build_err` says why) as `operation`, and read the
 * ARN member `arn_member` into *arn_out (new; may be NULL). */
int sm_sagemaker_create_via(const sm_awsjson_caller *caller,
                            const char *operation, json_t *request,
                            const sm_error *build_err, const char *arn_member,
                            char **arn_out, sm_aws_error *err);

/* Describe `name` and hand the response to `read` (which steals it).
 * 0, or -1 with `err` filled. */
typedef int (*sm_sagemaker_read_fn)(json_t *response, void *out);
int sm_sagemaker_describe_into(sm_aws *aws, sm_sagemaker_kind kind,
                               const char *name, sm_sagemaker_read_fn read,
                               void *out, sm_aws_error *err);

/* Run the pager over `operation` from `request` (borrowed), bounded by
 * `options` (may be NULL), gathering every item of `result_key` into a
 * new array *raw (set even on failure). 0, or -1 with `err` filled. */
int sm_sagemaker_gather(const sm_awsjson_caller *caller, const char *operation,
                        const char *result_key, const json_t *request,
                        const sm_sagemaker_list_options *options, json_t **raw,
                        int *truncated, sm_aws_error *err);

/* Start a new request object; NULL with `err` set when out of memory. */
json_t *sm_sagemaker_object(sm_error *err);

#endif
