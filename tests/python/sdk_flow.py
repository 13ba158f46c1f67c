"""The SageMaker Python SDK (its v2 API) driving sagemagic-local as a notebook
user of the SDK writes it: upload, Estimator.fit with logs, deploy and
predict, a Transformer, a HyperparameterTuner, then the deletes. Run by
tests/python/test_local_sdk.py in a process of its own, with the service's
AWS_ENDPOINT_URL and key pair in the environment; it writes what it saw to
WORK/result.json for the test to judge.

    python sdk_flow.py WORK
"""
import json
import sys
from pathlib import Path

import boto3
import numpy as np
import sagemaker
from sagemaker.deserializers import CSVDeserializer
from sagemaker.estimator import Estimator
from sagemaker.inputs import TrainingInput
from sagemaker.serializers import CSVSerializer
from sagemaker.tuner import ContinuousParameter, HyperparameterTuner, IntegerParameter

# The SDK names its default bucket after the account it asks STS for at a
# fixed AWS address (not AWS_ENDPOINT_URL); naming the bucket skips that.
BUCKET = "sagemaker-us-east-1-000000000000"
ROLE = "arn:aws:iam::000000000000:role/SageMakerRole"
INSTANCE = "ml.m5.large"


def write_csv(path, *columns):
    np.savetxt(path, np.column_stack(columns), delimiter=",", fmt="%.6f")
    return path


def main(work):
    work = Path(work)
    rng = np.random.default_rng(21)
    x = rng.normal(size=(600, 4))
    y = 2 * x[:, 0] + x[:, 1] - 0.5 * x[:, 2] + rng.normal(size=600) * 0.1
    test = x[:8]
    session = sagemaker.Session(boto3.Session(), default_bucket=BUCKET)
    train_uri = session.upload_data(str(write_csv(work / "train.csv", y[:400], x[:400])),
                                    key_prefix="sdk/train")
    validation_uri = session.upload_data(
        str(write_csv(work / "validation.csv", y[400:], x[400:])), key_prefix="sdk/validation")
    test_uri = session.upload_data(str(write_csv(work / "test.csv", test)),
                                   key_prefix="sdk/test")
    channels = {"train": TrainingInput(train_uri, content_type="text/csv"),
                "validation": TrainingInput(validation_uri, content_type="text/csv")}
    image = sagemaker.image_uris.retrieve("xgboost", session.boto_region_name, "1.7-1")

    def estimator(output, **hyperparameters):
        return Estimator(image, ROLE, instance_count=1, instance_type=INSTANCE,
                         output_path=f"s3://{BUCKET}/{output}", sagemaker_session=session,
                         hyperparameters=hyperparameters)

    est = estimator("sdk/output", num_round=20, objective="reg:squarederror", max_depth=3)
    est.fit(channels, logs=True)
    result = {"job": est.latest_training_job.name, "model_data": est.model_data,
              "test": test.tolist()}

    predictor = est.deploy(1, INSTANCE, serializer=CSVSerializer(),
                           deserializer=CSVDeserializer())
    result["endpoint"] = predictor.endpoint_name
    result["predictions"] = predictor.predict(test)

    transformer = est.transformer(1, INSTANCE, output_path=f"s3://{BUCKET}/sdk/transform",
                                  accept="text/csv", assemble_with="Line")
    transformer.transform(test_uri, content_type="text/csv", split_type="Line")
    result["transform"] = {"job": transformer.latest_transform_job.name,
                           "output": transformer.output_path}

    tuner = HyperparameterTuner(
        estimator("sdk/tuning", num_round=10, objective="reg:squarederror"), "validation:rmse",
        {"eta": ContinuousParameter(0.05, 0.5), "max_depth": IntegerParameter(2, 5)},
        objective_type="Minimize", max_jobs=4, max_parallel_jobs=2, strategy="Random")
    tuner.fit(channels)
    tuner.wait()
    trials = tuner.analytics().dataframe()
    result["tuning"] = {
        "job": tuner.latest_tuning_job.name, "best": tuner.best_training_job(),
        "trials": dict(zip(trials["TrainingJobName"], trials["FinalObjectiveValue"])),
        "hyperparameters": {name: {"eta": float(eta), "max_depth": int(depth)}
                            for name, eta, depth in zip(trials["TrainingJobName"],
                                                        trials["eta"], trials["max_depth"])}}

    predictor.delete_model()  # it reads the model's name from the endpoint config
    predictor.delete_endpoint()
    (work / "result.json").write_text(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1])
