# The two commands a newcomer needs; both do their own set-up (Scripts/bootstrap).
#   make demo   the main job on the shipped fixture model
#   make test   the test suite (what CI runs)
FIXTURE_MODEL := Tests/GPT2Tests/Resources/checkpoints/f16-prefixed
TOKENIZER     := Models/gpt2-tokenizer
TEXT          ?= The State of the Union is strong.
DEMO_DB       := runs/demo/activations.db
NB            := .build/release/neuronbench

.PHONY: setup test demo bench-tokenizer bench-evaluate

setup:
	Scripts/bootstrap

test: setup
	swift build --build-tests
	swift test --skip-build --disable-swift-testing

# Until the demo model lands (issue 6), the model is a tiny random fixture with GPT-2's vocabulary.
demo: setup
	Scripts/fetch-corpus sotu
	swift build -c release --product neuronbench
	$(NB) tokenize --model $(FIXTURE_MODEL) --tokenizer $(TOKENIZER) --json "$(TEXT)"
	$(NB) activations --model $(FIXTURE_MODEL) --tokenizer $(TOKENIZER) --top 3 "$(TEXT)"
	mkdir -p $(dir $(DEMO_DB))
	$(NB) precompute --model $(FIXTURE_MODEL) --tokenizer $(TOKENIZER) --corpus Corpora/sotu/data --out $(DEMO_DB)
	$(NB) inspect $(DEMO_DB) --neuron 1:7 --records 2
	$(NB) evaluate --db $(DEMO_DB) --explainer token-list --explainer shuffled --simulator keyword --out runs/demo/evaluation
	$(NB) puzzles --db $(DEMO_DB) --explainer token-list --simulator keyword --out runs/demo/evaluation
	@echo "activation database: $(DEMO_DB)  (Schemas/activations.md; python3 Scripts/read-activations.py $(DEMO_DB) 1:7)"
	@echo "scores: runs/demo/evaluation/{scores.csv,summary.csv,puzzles.csv}  (Schemas/scores.md)"

bench-tokenizer: setup
	Scripts/bench-tokenizer

bench-evaluate: setup
	Scripts/bench-evaluate
