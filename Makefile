# ledgerguard: every target is documented in README.md. Recipes call the
# scripts in scripts/, which run in bash strict mode and explain failures.
SHELL := /bin/bash
.DEFAULT_GOAL := help
GO_BUILD_FLAGS := -trimpath -ldflags "-X main.version=$(shell git describe --always --dirty 2>/dev/null || echo dev)"

.PHONY: help setup build run test chaos bench demo models network-up network-down network-reset deploy upgrade add-org remove-org

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

setup: ## install everything the project needs (idempotent; warm re-run takes seconds)
	@scripts/setup.sh

build: setup ## build the project's binaries (bin/ledgerguard) into bin/
	@go build $(GO_BUILD_FLAGS) -o bin/ledgerguard ./gateway/cmd/ledgerguard
	@echo "built bin/ledgerguard"

run: build ## the main job: set up, start the network, deploy the chaincode, start the gateway (and demo receiver), print a first curl
	@scripts/run.sh

test: ## set up, run unit tests, then end-to-end tests on a fresh network of their own
	@scripts/test.sh

chaos: ## the chaos suite on a fresh test network: 100k events, 20 gateway kills, a peer, the raft leader and a full disk; prints CHAOS lines (LEDGERGUARD_CHAOS_SEED replays)
	@scripts/chaos.sh

bench: build ## run the benchmarks on a fresh test network; prints BENCH <name> <value> <unit> lines
	@scripts/bench.sh

demo: build ## the whole story: network, gateway, policies, real telemetry replayed, live view, summary, evidence verified (KEEP=1 keeps it running)
	@KEEP=$(KEEP) scripts/demo.sh

models: ## retrain the ONNX models from ../shared/data in a Python venv (pinned requirements; about 3 minutes)
	@$(MAKE) -C models

network-up: setup ## start the native Fabric network (3 orderers, 2 orgs' peers, channel lgchannel)
	@scripts/network.sh up

network-down: ## stop exactly the processes the scripts started: gateway, demo receiver, peers, orderers
	@scripts/network.sh down

network-reset: ## stop the network and delete all its state
	@scripts/network.sh reset

deploy: ## package, install, approve as both orgs and commit the chaincode; wait until it answers
	@scripts/chaincode.sh deploy

upgrade: ## ship changed chaincode as the next version and sequence
	@scripts/chaincode.sh upgrade

add-org: ## ORG=org3: a new organisation joins the running network and consortium (majority-signed channel update, peer, chaincode, membership)
	@scripts/org.sh add $(ORG) $(if $(SIGNERS),--signers $(SIGNERS))

remove-org: ## ORG=org3: an organisation leaves the channel and consortium (majority-approved); its identities can no longer submit or endorse
	@scripts/org.sh remove $(ORG) $(if $(SIGNERS),--signers $(SIGNERS))
