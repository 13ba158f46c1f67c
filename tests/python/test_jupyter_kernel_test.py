"""Jupyter's own conformance suite (jupyter_kernel_test) against sagemagic.

Every sample attribute of KernelTests is filled in, so no test is skipped
for want of a sample. The module imports the package, not the classes, so
that pytest does not also collect the base classes (which would start a
python3 kernel).
"""
import time

import jupyter_kernel_test as jkt
import pytest

pytestmark = pytest.mark.timeout(120)


class TestSagemagicKernel(jkt.KernelTests):
    kernel_name = "sagemagic"

    language_name = "sagemagic"
    file_extension = ".sagemagic"

    code_hello_world = "%echo hello, world"
    code_stderr = "%echo --stderr oops"

    completion_samples = [
        {"text": "%ec", "matches": ["%echo"]},
        {"text": "%sl", "matches": ["%sleep"]},
        {"text": "%%con", "matches": ["%%config"]},
        {"text": "%echo --std", "matches": ["--stderr"]},
        {"text": "%echo -", "matches": ["--stderr", "--no-newline", "--help"]},
        {"text": "%config reg", "matches": ["region"]},
        {
            "text": "%",
            "matches": ["%help", "%config", "%whoami", "%prepare", "%upload",
                        "%ls", "%download", "%image", "%train", "%stop",
                        "%status", "%jobs", "%logs", "%deploy", "%predict",
                        "%transform", "%tune", "%endpoints", "%delete",
                        "%cleanup", "%experiments", "%compare", "%reproduce",
                        "%export", "%vars", "%echo", "%sleep", "%clear"],
        },
        {"text": "%zz", "matches": []},
    ]

    complete_code_samples = [
        "%echo hello",
        "x = hello\nx",
        "%%config\nregion = us-west-2\n",
        "# only a comment",
        "",
    ]
    incomplete_code_samples = [
        "%echo one \\",
        "%%config",
        "%%config\nregion = us-west-2",
    ]
    invalid_code_samples = [
        "%echo 'abc",
        '%echo "abc',
        "%echo ok\n%echo 'unterminated",
    ]

    code_display_data = [
        {"code": "%help", "mime": "text/plain"},
        {"code": "%help", "mime": "text/html"},
    ]

    code_execute_result = [
        {"code": "x = hello\nx", "result": "hello"},
        {"code": "y = two words\n$y", "result": "two words"},
    ]

    supported_history_operations = ("tail", "range", "search")
    # Matches exactly one of the codes above, as the "unique" search needs.
    code_history_pattern = "x = hel*"

    code_inspect_sample = "%echo"
    code_clear_output = "%clear"
    code_page_something = "%echo?"
    code_generate_error = "%nosuchmagic"


class TestSagemagicIopubWelcome(jkt.IopubWelcomeTests):
    kernel_name = "sagemagic"
    support_iopub_welcome = True

    @classmethod
    def tearDownClass(cls):
        # The welcome test starts the channels and ends at once; a heartbeat
        # thread still on its way to its socket when the kernel manager
        # closes its context fails in that thread ("Too many open files").
        # Let it get there first (bounded) so teardown is clean.
        hb = cls.kc.hb_channel
        deadline = time.monotonic() + 5
        while hb.is_alive() and hb.socket is None and time.monotonic() < deadline:
            time.sleep(0.01)
        super().tearDownClass()
