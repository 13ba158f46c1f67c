/* train_job: what runs inside a training job's own process (the hidden
 * `sagemagic-local train-job WORK_DIR` command), as the built-in XGBoost
 * container runs inside its instance. WORK_DIR is laid out like
 * /opt/ml:
 *
 *   input/config/hyperparameters.json   the HyperParameters map
 *   input/config/inputdataconfig.json   {"train": {"ContentType": ...}}
 *   input/config/files.json             {"train": [{"path", "uri"}, ...]}
 *   input/data/<channel>/...            the downloaded objects
 *   model/xgboost-model                 written: the booster (JSON)
 *   output/model.tar.gz                 written: model/ packed
 *   output/failure                      written on failure: the reason
 *
 * It checks hyperparameters and channels as the container does, reads
 * the data (CSV or LIBSVM), trains with the XGBoost C API, and prints the
 * container's log lines to stdout, the per-round ones as
 * "[3]\ttrain-rmse:0.41234\tvalidation-rmse:0.52345". SIGTERM stops it
 * between rounds (saving the model first when save_model_on_termination
 * is "true"). */
#ifndef SM_TRAIN_JOB_H
#define SM_TRAIN_JOB_H

/* Exit statuses. */
#define SM_TRAIN_JOB_OK 0
#define SM_TRAIN_JOB_CLIENT_ERROR 1    /* the user's data or settings */
#define SM_TRAIN_JOB_ALGORITHM_ERROR 2 /* anything else */
#define SM_TRAIN_JOB_STOPPED 3         /* SIGTERM, no model saved */

/* Run the job in `work_dir`; returns the exit status. */
int sm_train_job_run(const char *work_dir);

#endif
