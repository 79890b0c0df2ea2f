"""circom2's own traps are told apart from errors in the source (only the first is retried)."""

from __future__ import annotations

from zk.errors import StepError
from zk.toolchain import compiler_trapped

# The tail of a report circom2 wrote when its WebAssembly trapped (seen in CI).
TRAP = (
    "circom2 exited 1: ll_complete17h36ddc1b624a008b1E (wasm://wasm/circom-282a3b48b72c97c7.wasm-"
    "0236f08e:wasm-function[2372]:0x1b1b9d)\n    at circom-282a3b48b72c97c7.wasm._ZN21constraint"
    "_generation7execute14perform_assign17hc878497a48df9497E (wasm://wasm/circom-282a3b48b72c97c7"
    ".wasm-0236f08e:wasm-function[2388]:0x1c44e8)"
)
SOURCE_ERROR = (
    'circom2 exited 1: error[P1012]: illegal expression\n   ┌─ "main.circom":3:5\n'
    "previous errors were found"
)


def test_a_trap_inside_the_compiler_is_recognised() -> None:
    assert compiler_trapped(StepError(TRAP))


def test_an_error_in_the_source_is_not_a_trap() -> None:
    assert not compiler_trapped(StepError(SOURCE_ERROR))
    assert not compiler_trapped(StepError("circom2 took longer than 600 s"))
