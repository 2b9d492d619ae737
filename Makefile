# The two commands a newcomer needs; both do their own set-up (Scripts/bootstrap).
#   make demo   the main job on the shipped fixture model
#   make test   the test suite (what CI runs)
FIXTURE_MODEL := Tests/GPT2Tests/Resources/checkpoints/f16-prefixed
TOKENIZER     := Models/gpt2-tokenizer
TEXT          ?= The State of the Union is strong.

.PHONY: setup test demo bench-tokenizer

setup:
	Scripts/bootstrap

test: setup
	swift build --build-tests
	swift test --skip-build --disable-swift-testing

demo: setup
	swift build -c release --product neuronbench
	.build/release/neuronbench tokenize --model $(FIXTURE_MODEL) --tokenizer $(TOKENIZER) --json "$(TEXT)"
	.build/release/neuronbench activations --model $(FIXTURE_MODEL) --tokenizer $(TOKENIZER) "$(TEXT)"

bench-tokenizer: setup
	Scripts/bench-tokenizer
