# The two commands of the README: `make run` and `make test`. Both install what they need on a
# Debian machine when run as root, and otherwise stop and name the missing package.

SHELL := /bin/bash
DATA_DIR ?= ./data
BIND ?= 127.0.0.1:8080
# 1: `make run` loads the demo reports into an archive that has none, and the demo history of past
# rounds into a database that has none (`make run DEMO=0`: never).
DEMO ?= 1
# The PostgreSQL server the tests create their databases on (trust auth, user postgres).
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/postgres

MMR := ./target/release/mmr --data-dir $(DATA_DIR)
# axe-core, which the browser tests run inside each page (from the npm registry).
AXE_VERSION := 4.14.1
AXE_JS := target/web-tools/node_modules/axe-core/axe.min.js

# $(call need,COMMAND-OR-TEST,DEBIAN-PACKAGE): install the package when the check fails
# (RUNLEVEL=1: a package with a service, such as nginx, is installed without starting it).
define need
	@if ! ( $(1) ) >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "make: installing $(2)"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq $(2)) >/dev/null \
	      || { echo "make: could not install $(2)"; exit 1; }; \
	  else echo "make: missing $(2): install the Debian package $(2) (or its equivalent)"; exit 1; fi; \
	fi
endef

.PHONY: run test build-deps test-deps lint bench

## Build, migrate, load the founding cities into an empty database and the demo reports into an
## empty archive (unless DEMO=0), and serve on $(BIND).
run: build-deps
	cargo build --release --locked
	$(MMR) migrate
	$(MMR) cities import --if-empty demo/cities.csv
ifeq ($(DEMO),1)
	$(MMR) demo load --if-empty
	$(MMR) history import --if-empty demo/history/manifest.csv
endif
	@echo
	@echo "  Serving the MMR API on http://$(BIND) (SQLite database in $(DATA_DIR))."
	@echo "  Create a Secretariat token in another terminal:"
	@echo '    export TOKEN=$$($(MMR) token create --role secretariat --name "$$USER")'
	@echo "  then try:  curl -s http://$(BIND)/api/v1/cities?q=krakow"
	@echo "  and the archive (fictitious demo reports):  curl -s 'http://$(BIND)/api/v1/archive?q=ostersund'"
	@echo "  Sign in to the pages at http://$(BIND)/sign-in with that token (see README, Signing in)."
	@echo "  a legacy PDF of the demo history (Edinburgh, 2012-2016):  curl -s 'http://$(BIND)/api/v1/archive?q=pamphlets'"
	@echo
	exec $(MMR) serve --bind $(BIND)

## Every test, on SQLite and (when reachable) PostgreSQL.
test: build-deps test-deps
	@if [ -z "$$MMR_TEST_POSTGRES_URL" ] && ! pg_isready -q -h 127.0.0.1 -p 5432; then \
	  echo "make: NOTE: no PostgreSQL on 127.0.0.1:5432; the PostgreSQL half of the tests will be SKIPPED."; \
	fi
	MMR_TEST_POSTGRES_URL=$${MMR_TEST_POSTGRES_URL:-$$(pg_isready -q -h 127.0.0.1 -p 5432 && echo $(PG_TEST_URL))} \
	  cargo test --locked

build-deps:
	@command -v cargo >/dev/null || { echo "make: cargo is missing: install Rust from https://rustup.rs"; exit 1; }
	$(call need,command -v cc,gcc)
	$(call need,ls /usr/lib/*/libpq.so || ls /usr/lib/libpq.so,libpq-dev)

test-deps:
	$(call need,command -v pg_isready && command -v psql,postgresql-client)
	$(call need,command -v python3,python3)
	$(call need,command -v curl,curl)
	$(call need,command -v pdftotext && command -v pdfinfo && command -v pdffonts && command -v pdftoppm,poppler-utils)
	$(call need,command -v qpdf,qpdf)
	$(call need,test -f /usr/share/fonts/truetype/noto/NotoNaskhArabic-Regular.ttf,fonts-noto-core)
	$(call need,test -f /usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc,fonts-noto-cjk)
	$(call need,command -v openssl,openssl)
	$(call need,command -v nginx || test -x /usr/sbin/nginx,nginx-light)
	$(call need,test -x /usr/bin/chromium,chromium)
	$(call need,test -x /usr/bin/chromedriver,chromium-driver)
	$(call need,command -v npm,npm)
	@test -f $(AXE_JS) || { echo "make: installing axe-core $(AXE_VERSION) (the accessibility checker the browser tests run in the page)"; \
	  npm install --prefix target/web-tools --no-audit --no-fund --silent axe-core@$(AXE_VERSION) \
	  || { echo "make: missing axe-core: run 'npm install --prefix target/web-tools axe-core@$(AXE_VERSION)'"; exit 1; }; }
	@python3 -c 'import aiosmtpd' 2>/dev/null || { echo "make: installing aiosmtpd (the SMTP server the mail tests run)"; \
	  python3 -m pip install -q aiosmtpd || { echo "make: missing aiosmtpd: run 'python3 -m pip install aiosmtpd'"; exit 1; }; }
	@python3 -c 'import prometheus_client' 2>/dev/null || { echo "make: installing prometheus-client (the Prometheus text parser the metrics test reads the scrape with)"; \
	  python3 -m pip install -q prometheus-client || { echo "make: missing prometheus-client: run 'python3 -m pip install prometheus-client'"; exit 1; }; }
	@python3 -c 'import sickle' 2>/dev/null || { echo "make: installing Sickle (the OAI-PMH harvester the harvest tests run)"; \
	  python3 -m pip install -q sickle || { echo "make: missing Sickle: run 'python3 -m pip install sickle'"; exit 1; }; }
	@python3 -c 'import pikepdf' 2>/dev/null || { echo "make: installing pikepdf (the PDF reader of the render tests' PDF/UA check)"; \
	  python3 -m pip install -q pikepdf || { echo "make: missing pikepdf: run 'python3 -m pip install pikepdf'"; exit 1; }; }
	@python3 -c 'import openapi_spec_validator' 2>/dev/null || { echo "make: installing openapi-spec-validator (the validator of the API's OpenAPI document)"; \
	  python3 -m pip install -q openapi-spec-validator || { echo "make: missing openapi-spec-validator: run 'python3 -m pip install openapi-spec-validator'"; exit 1; }; }
	@python3 -c 'import schemathesis.cli' 2>/dev/null || { echo "make: installing Schemathesis (the property-based tester the API tests run against the OpenAPI document)"; \
	  python3 -m pip install -q schemathesis || { echo "make: missing Schemathesis: run 'python3 -m pip install schemathesis'"; exit 1; }; }
	@python3 -c 'import moto.server, flask, flask_cors' 2>/dev/null || { echo "make: installing moto[server] (the S3 server the storage tests run)"; \
	  python3 -m pip install -q 'moto[server]' || { echo "make: missing moto's server: run \"python3 -m pip install 'moto[server]'\""; exit 1; }; }

lint: build-deps
	cargo fmt --all -- --check
	cargo clippy --all-targets --locked -- -D warnings
