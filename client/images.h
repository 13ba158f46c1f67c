/* images: the container images of SageMaker's built-in algorithms (XGBoost)
 * for each region and version, and recognising such an image again. */
#ifndef SM_IMAGES_H
#define SM_IMAGES_H

#include <stddef.h>

#include "error.h"

/* The version `%image xgboost` gives when none is asked for. */
#define SM_IMAGE_XGBOOST_DEFAULT_VERSION "1.7-1"

/* What a built-in image URI names. */
typedef struct sm_image_info {
    char algorithm[16];  /* "xgboost" */
    char region[32];     /* "us-east-1" */
    char account[16];    /* the registry's account id */
    char version[16];    /* canonical: "1.7-1", "0.90-1", "1" */
    char repository[32]; /* "sagemaker-xgboost", or "xgboost" for "1" */
    char tag[32];        /* "1.7-1", "0.90-1-cpu-py3", "1" */
} sm_image_info;

/* New URI of `algorithm`'s image ("xgboost", any case) for `region` and
 * `version`. `version` NULL or "" means the default; "latest" is the
 * SDK's alias of the legacy version "1". Returns NULL with `err` set when
 * the algorithm, region or version is unknown: the message lists the
 * valid ones and suggests the closest version. */
char *sm_image_uri(const char *algorithm, const char *region,
                   const char *version, sm_error *err);

/* The same for XGBoost. */
char *sm_image_xgboost_uri(const char *region, const char *version,
                           sm_error *err);

/* Nonzero when `uri` is a built-in XGBoost image of a known region and
 * version (the exact registry account for that region, the partition's
 * domain, the version's tag; "xgboost:latest" counts as the legacy "1").
 * Fills `info` when it is non-NULL. */
int sm_image_is_xgboost(const char *uri, sm_image_info *info);

/* The XGBoost versions, in the SDK's order, and the aliases. Borrowed. */
size_t sm_image_xgboost_version_count(void);
const char *sm_image_xgboost_version(size_t i);

/* The regions with built-in images. Borrowed. */
size_t sm_image_region_count(void);
const char *sm_image_region(size_t i);

/* DNS suffix of `region`'s partition ("amazonaws.com",
 * "amazonaws.com.cn", ...), or NULL for a region with no images. */
const char *sm_image_dns_suffix(const char *region);

#endif
