# pam-totp. `make` builds build/pam_totp.so and build/pam-totp-setup; `make check` runs every test.
# Debug (tests) and release (artifacts) builds use separate scratch paths so neither rebuilds the other.

PREFIX      ?= /usr/local
DESTDIR     ?=
SWIFT       ?= swift
PYTHON      ?= /usr/bin/python3
# The system's PAM module directory, derived from where libpam lives (…/lib/<triplet>/security on Debian).
PAMDIR      ?= $(shell dirname "$$(ldconfig -p | awk '/libpam\.so\.0 / {print $$NF; exit}')")/security
STATEDIR    ?= /var/lib/pam-totp
# fail2ban reads only /etc/fail2ban, whatever PREFIX is; the jail is shipped disabled (fail2ban/jail.d).
SYSCONFDIR  ?= /etc
DOCDIR      ?= $(PREFIX)/share/doc/pam-totp
MANDIR      ?= $(PREFIX)/share/man
ZSHCOMPDIR  ?= $(PREFIX)/share/zsh/site-functions
# The portal (docs/PORTAL.md): its templates and static files, and the systemd units of its two processes.
WEBDATADIR  ?= $(PREFIX)/share/pam-totp-web
UNITDIR     ?= $(PREFIX)/lib/systemd/system

RELEASE_SCRATCH := .build-release
DEBUG_SCRATCH   := .build-debug
# pam-totp-web (web/, Hummingbird): a package of its own, built in release only, so that the debug build
# and the unit tests never compile Hummingbird.
WEB_SCRATCH     := .build-web
# The tool: a release build that carries the Swift standard library, so servers need no Swift runtime.
RELEASE_FLAGS   := -c release --scratch-path $(RELEASE_SCRATCH) --disable-local-rpath -Xswiftc -static-stdlib

# The module: Embedded Swift (docs/DESIGN.md, "The module in Embedded Swift"). The same source files
# the tool and the tests compile in full Swift, built here module by module with swiftc, as LLVM
# bitcode (-lto=llvm-full), and linked by the toolchain's clang and lld with link-time optimisation,
# so that only what a login reaches is kept. No Swift runtime: the result needs libc and libpam.
SWIFTC          ?= swiftc
TOOLCHAIN_BIN   := $(dir $(realpath $(shell command -v $(SWIFTC))))
EMBEDDED        := .build-embedded
# String comparison and case mapping need Unicode's tables, which Embedded Swift keeps in an archive.
UNICODE_TABLES  := $(TOOLCHAIN_BIN)../lib/swift/embedded/$(shell uname -m)-unknown-linux-gnu/libswiftUnicodeDataTables.a
C_INCLUDES      := -I Sources/CPAM -I Sources/CTOTPSystem/include -I Sources/CLibCrypto/include -I Sources/CLibPQ/include \
                   -I Sources/CPAMTOTPShim/helpers/include
# -disable-implicit-*-module-import: the module uses neither string processing nor concurrency.
EMBEDDED_SWIFTC := $(SWIFTC) -enable-experimental-feature Embedded -wmo -Osize -parse-as-library -swift-version 5 \
                   -lto=llvm-full -Xfrontend -function-sections -Xcc -fPIC -I $(EMBEDDED) $(C_INCLUDES) \
                   -Xfrontend -disable-implicit-string-processing-module-import \
                   -Xfrontend -disable-implicit-concurrency-module-import
EMBEDDED_CC     := $(TOOLCHAIN_BIN)clang -Os -flto -fPIC -fstack-protector-strong -D_FORTIFY_SOURCE=2 \
                   -Wall -Wextra -Werror $(C_INCLUDES) -I /usr/include/postgresql
MODULE_C        := Sources/CPAMTOTPShim/entry/entry.c Sources/CPAMTOTPShim/entry/ceil.c \
                   Sources/CPAMTOTPShim/helpers/helpers.c Sources/CTOTPSystem/system.c Sources/CLibCrypto/libcrypto.c \
                   Sources/CLibPQ/libpq.c
C_HEADERS       := $(wildcard Sources/*/include/* Sources/CPAMTOTPShim/*/include/* Sources/CPAM/*)

# libstdc++-12-dev: the tool's static Swift standard library links libstdc++ (the module needs none).
# debhelper, lintian, dpkg-dev, fakeroot: make deb and its test. fail2ban: fail2ban-regex for the filter
# test. systemd-journal-remote: writes the journal file the Troubleshooting advice is tested on.
# nginx, curl: the portal's recipe (test_recipes.py); systemd: systemd-analyze, which checks the portal's units
# offline (test_install.py). strace: counts the module's fsyncs (test_faults.py). iproute2: `ip netns` for the two hosts of test_store_e2e.py.
# pgbouncer: the pooler of docs/SEVERAL-SERVERS.md (test_store_pooler.py, make bench), run by the tests on a
# socket of their own; where systemd runs services, the package also starts Debian's default instance
# (localhost:6432, no users), which nothing here uses.
# chromium, chromium-driver: the portal's browser tests and make portal-demo, which run their own nginx master
# on a scratch nginx.conf (tools/portal.py) in front of a headless Chromium; where systemd runs services, the
# nginx package also starts Debian's default site on port 80, which nothing here uses or touches. fonts-ipafont-gothic: Japanese
# pages readable in the screenshots (12 MB, against 91 MB for fonts-noto-cjk). libnss3-tools: certutil, with
# which the browser trusts the tests' throwaway CA. pngquant: small screenshots in docs/portal. python3-pip:
# installs selenium (below).
DEB_PACKAGES := libpam0g-dev libssl-dev libqrencode-dev libpq-dev postgresql pgbouncer libstdc++-12-dev pamtester libpam-wrapper libnss-wrapper \
                iproute2 oathtool zbar-tools libmagickcore-6.q16-6-extra libpam-google-authenticator gcc make \
                binutils util-linux passwd python3 python3-pytest python3-pexpect valgrind faketime \
                openssh-server openssh-client ocserv openconnect gnutls-bin sudo fail2ban \
                debhelper lintian dpkg-dev fakeroot systemd-journal-remote tmux strace curl systemd \
                nginx chromium chromium-driver fonts-ipafont-gothic libnss3-tools pngquant python3-pip

# selenium (from PyPI, as issue 15 asks; Debian 12 has python3-selenium 4.8.3 of early 2023) and what it
# imports, pinned by hash in Tests/e2e/portal-requirements.txt, go into .build-python with `pip install
# --target`; tools/portal.py puts that directory on sys.path. So /usr/bin/python3 -m pytest imports selenium,
# while Debian's Python stays as Debian made it: no --break-system-packages (which would put urllib3 2 in
# /usr/local under every Python program of the system, PEP 668), and no venv to run the tests from. Like
# the other .build-* directories, `make clean` keeps it. Nothing is downloaded when the tests run.
PYTHON_DEPS := .build-python
PYTHON_REQS := Tests/e2e/portal-requirements.txt

.PHONY: all build deb deps check unit integration install uninstall clean format lint harness demo demo-auto fuzz bench bench-probe \
        bench-tools portal-demo portal-demo-auto

all: build

build: build/pam_totp.so
	$(SWIFT) build $(RELEASE_FLAGS) --product pam-totp-setup
	cp $(RELEASE_SCRATCH)/release/pam-totp-setup build/pam-totp-setup
	strip --strip-unneeded build/pam-totp-setup
	@# SwiftPM keeps the root package's file list in the web build's plan and misses a file added to
	@# PortalCore or PortalProtocol since; without the plan it plans again (seconds) and rebuilds only what changed.
	rm -f $(WEB_SCRATCH)/*/release/description.json
	$(SWIFT) build --package-path web --scratch-path $(WEB_SCRATCH) -c release --disable-local-rpath -Xswiftc -static-stdlib
	cp $(WEB_SCRATCH)/release/pam-totp-web build/pam-totp-web
	strip --strip-unneeded build/pam-totp-web

# Each Swift module of pam_totp.so, with the interface the next one imports.
$(EMBEDDED)/%.o:
	@mkdir -p $(EMBEDDED)
	rm -f $@
	$(EMBEDDED_SWIFTC) -module-name $* -emit-module -emit-module-path $(EMBEDDED)/$*.swiftmodule -c -o $@ $(call swift_sources,$*)
# Every Swift file of a target, in subfolders too, as SwiftPM takes them.
swift_sources = $(shell find Sources/$(1) -name '*.swift' | sort)
$(EMBEDDED)/TOTPCrypto.o: $(call swift_sources,TOTPCrypto) $(C_HEADERS)
$(EMBEDDED)/TOTPCore.o: $(call swift_sources,TOTPCore) $(EMBEDDED)/TOTPCrypto.o
$(EMBEDDED)/TOTPStorage.o: $(call swift_sources,TOTPStorage) $(EMBEDDED)/TOTPCore.o
$(EMBEDDED)/PAMTOTP.o: $(call swift_sources,PAMTOTP) $(EMBEDDED)/TOTPStorage.o

# -z defs: every symbol resolved now, not when a server loads the module. The version script exports
# only pam_sm_*. --gc-sections and --icf=all drop and fold what no login reaches.
MODULE_SWIFT := $(addprefix $(EMBEDDED)/,TOTPCrypto.o TOTPCore.o TOTPStorage.o PAMTOTP.o)
MODULE_LINK  := -fuse-ld=lld -shared $(MODULE_SWIFT) $(MODULE_C) $(UNICODE_TABLES) -lpam \
                -Wl,-z,defs -Wl,-z,relro -Wl,-z,now -Wl,--gc-sections -Wl,--icf=all -Wl,-O2 \
                -Wl,--version-script=Sources/CPAMTOTPShim/pam_totp.map
build/pam_totp.so: $(MODULE_SWIFT) $(MODULE_C) $(C_HEADERS) Sources/CPAMTOTPShim/pam_totp.map
	mkdir -p build
	$(EMBEDDED_CC) -o $@ $(MODULE_LINK)
	strip --strip-unneeded $@

# Installs the Debian packages the build and the tests need, and selenium into $(PYTHON_DEPS); does
# nothing when all are present. It takes no lock of its own: whoever shares the machine wraps the
# whole command (`flock /tmp/pamtotp-system.lock make check`), and a second flock on the same file
# inside would wait for ever.
deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	else echo "all build and test packages are installed"; fi
	@if cmp -s $(PYTHON_REQS) $(PYTHON_DEPS)/requirements.txt; then echo "selenium is installed in $(PYTHON_DEPS)"; else \
	    rm -rf $(PYTHON_DEPS) && \
	    $(PYTHON) -m pip install -q --disable-pip-version-check --root-user-action=ignore --no-cache-dir \
	        --require-hashes --only-binary :all: --target $(PYTHON_DEPS) -r $(PYTHON_REQS) && \
	    cp $(PYTHON_REQS) $(PYTHON_DEPS)/requirements.txt; fi

# The C program the integration tests drive PAM with (pam_start_confdir and a scripted conversation).
# libsyslog_capture.so is preloaded by the tests to read what the module and the tool log;
# libnss_casefold.so makes user look-ups ignore case, as SSSD and LDAP do; libfree_scan.so is
# preloaded by the freed-memory test, to look for secrets in every block the module frees;
# libaudit_off.so by the stack test, to measure the modules' stack without libpam's audit record.
harness: build/pamdrive build/libsyslog_capture.so build/libnss_casefold.so build/libfree_scan.so build/libaudit_off.so
build/pamdrive: Tests/harness/pamdrive.c
	mkdir -p build
	cc -O2 -Wall -Wextra -Werror -pthread -o $@ $< -lpam
build/libsyslog_capture.so: Tests/harness/syslog_capture.c
	mkdir -p build
	cc -O2 -Wall -Wextra -Werror -shared -fPIC -o $@ $<
build/libnss_casefold.so: Tests/harness/nss_casefold.c
	mkdir -p build
	cc -O2 -Wall -Wextra -Werror -shared -fPIC -o $@ $< -ldl
build/libfree_scan.so: Tests/harness/free_scan.c
	mkdir -p build
	cc -O2 -Wall -Wextra -Werror -shared -fPIC -o $@ $< -ldl
build/libaudit_off.so: Tests/harness/audit_off.c
	mkdir -p build
	cc -O2 -Wall -Wextra -Werror -shared -fPIC -o $@ $<

check: lint build harness unit demo-auto portal-demo-auto deb integration

# The Debian package (debian/), from the release build in build/ (debian/rules says why), staged in
# build/deb/pam-totp-VERSION so that dpkg-buildpackage writes its results into build/deb/, not into
# the repository's parent directory. Two packages: pam-totp (module, tool) and pam-totp-web (the
# portal: its daemon, units, configuration and nginx site). Tests/e2e/test_package.py runs lintian
# on them, installs, uses and purges them.
DEB_VERSION = $(shell dpkg-parsechangelog -l debian/changelog -S Version)
DEB_STAGE   = build/deb/pam-totp-$(DEB_VERSION)
deb: build
	@tool="$$(build/pam-totp-setup --version)"; test "$$tool" = "$(DEB_VERSION)" || \
	    { echo "debian/changelog says $(DEB_VERSION) but pam-totp-setup --version says $$tool"; exit 1; }
	rm -rf build/deb
	mkdir -p $(DEB_STAGE)/build $(DEB_STAGE)/docs $(DEB_STAGE)/web
	cp -r debian Makefile README.md man pam.d-examples sshd_config.d tmpfiles.d fail2ban $(DEB_STAGE)/
	cp docs/FILEFORMAT.md docs/STORE.md docs/SEVERAL-SERVERS.md docs/PORTAL.md $(DEB_STAGE)/docs/
	cp -r web/systemd web/nginx web/templates web/static web/pam-totp-web.conf $(DEB_STAGE)/web/
	cp build/pam_totp.so build/pam-totp-setup build/pam-totp-web $(DEB_STAGE)/build/
	cd $(DEB_STAGE) && dpkg-buildpackage --build=binary --no-sign
	@ls build/deb/*.deb

unit:
	$(SWIFT) test --scratch-path $(DEBUG_SCRATCH) --disable-swift-testing

# The module and the tool through real libpam stacks (Tests/integration), and real sshd, ocserv and
# sudo with their real clients on 127.0.0.1 (Tests/e2e). Needs root; changes nothing in /etc but for
# Tests/e2e/test_package.py, which installs and purges build/deb's package (and restores what was there).
integration: build harness
	$(PYTHON) -m pytest -q Tests/integration Tests/e2e

# A throwaway sshd with the module and a throwaway user, for trying it with your own phone;
# Ctrl-C removes everything. DEMO_AUTO=1 uses oathtool as the phone (part of `make check`).
demo: build harness
	$(PYTHON) demo/demo.py

demo-auto: build harness
	DEMO_AUTO=1 $(PYTHON) demo/demo.py

# A throwaway self-service portal (docs/PORTAL.md) behind nginx with TLS on 127.0.0.1, with a throwaway
# user: prints the URL, the account and its password, and the CA to trust; Ctrl-C removes everything.
# PORTAL_DEMO_AUTO=1 walks it with a headless Chromium and oathtool as the person and the phone (part of
# `make check`).
portal-demo: build harness
	$(PYTHON) demo/portal_demo.py

portal-demo-auto: build harness
	PORTAL_DEMO_AUTO=1 $(PYTHON) demo/portal_demo.py

# The self-service portal (issue 15, pam-totp-web(8)). pam-totp-web goes to sbin, not bin: it is a
# daemon that systemd starts as the user pam-totp-web, never a command a user runs (as nginx, sshd
# and ocserv are in /usr/sbin). The units get this PREFIX's paths and STATEDIR, as the tmpfiles.d
# entry gets STATEDIR. The configuration and the nginx site are installed only where there is none:
# an admin's edited file is never overwritten. The site goes to sites-available only; enabling it
# (a link in sites-enabled, with a certificate) is the admin's step (README, "Self-service portal").
UNIT_PATHS := -e 's|/usr/local/bin/|$(PREFIX)/bin/|g' -e 's|/usr/local/sbin/|$(PREFIX)/sbin/|g' \
              -e 's|/usr/local/share/pam-totp-web|$(WEBDATADIR)|g' -e 's|^ReadWritePaths=/var/lib/pam-totp$$|ReadWritePaths=$(STATEDIR)|' \
              -e 's|/etc/pam-totp-web.conf|$(SYSCONFDIR)/pam-totp-web.conf|g'

# The tool goes to bin, not sbin: users enroll themselves with it, and sbin is not on their PATH.
# bash-completion sources its files: argument-parser's "#!/bin/bash" line is dropped (lintian flags it).
install: build
	install -d $(DESTDIR)$(PAMDIR) $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(DOCDIR)/pam.d-examples
	install -m 0644 build/pam_totp.so $(DESTDIR)$(PAMDIR)/pam_totp.so
	install -m 0755 build/pam-totp-setup $(DESTDIR)$(PREFIX)/bin/pam-totp-setup
	install -m 0644 pam.d-examples/* $(DESTDIR)$(DOCDIR)/pam.d-examples/
	install -d $(DESTDIR)$(DOCDIR)/sshd_config.d
	install -m 0644 sshd_config.d/*.conf $(DESTDIR)$(DOCDIR)/sshd_config.d/
	install -m 0644 README.md docs/FILEFORMAT.md docs/STORE.md docs/SEVERAL-SERVERS.md docs/PORTAL.md $(DESTDIR)$(DOCDIR)/
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8
	install -m 0644 man/pam-totp-setup.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 man/pam_totp.8 $(DESTDIR)$(MANDIR)/man8/
	install -d $(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(ZSHCOMPDIR) \
	    $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	build/pam-totp-setup --generate-completion-script bash | sed '1{/^#!/d}' > $(DESTDIR)$(PREFIX)/share/bash-completion/completions/pam-totp-setup
	build/pam-totp-setup --generate-completion-script zsh > $(DESTDIR)$(ZSHCOMPDIR)/_pam-totp-setup
	build/pam-totp-setup --generate-completion-script fish > $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/pam-totp-setup.fish
	install -d -m 0700 $(DESTDIR)$(STATEDIR)
	install -d $(DESTDIR)$(PREFIX)/lib/tmpfiles.d
	sed 's|/var/lib/pam-totp|$(STATEDIR)|' tmpfiles.d/pam-totp.conf > $(DESTDIR)$(PREFIX)/lib/tmpfiles.d/pam-totp.conf
	install -d $(DESTDIR)$(SYSCONFDIR)/fail2ban/filter.d $(DESTDIR)$(SYSCONFDIR)/fail2ban/jail.d
	install -m 0644 fail2ban/filter.d/pam-totp.conf $(DESTDIR)$(SYSCONFDIR)/fail2ban/filter.d/pam-totp.conf
	install -m 0644 fail2ban/jail.d/pam-totp.conf $(DESTDIR)$(SYSCONFDIR)/fail2ban/jail.d/pam-totp.conf
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(WEBDATADIR)/templates $(DESTDIR)$(WEBDATADIR)/static \
	    $(DESTDIR)$(UNITDIR) $(DESTDIR)$(DOCDIR)/nginx $(DESTDIR)$(SYSCONFDIR)/nginx/sites-available
	install -m 0755 build/pam-totp-web $(DESTDIR)$(PREFIX)/sbin/pam-totp-web
	install -m 0644 web/templates/*.mustache $(DESTDIR)$(WEBDATADIR)/templates/
	install -m 0644 web/static/* $(DESTDIR)$(WEBDATADIR)/static/
	for unit in pam-totp-web.service pam-totp-web-helper.service; do \
	    sed $(UNIT_PATHS) web/systemd/$$unit > $(DESTDIR)$(UNITDIR)/$$unit && chmod 0644 $(DESTDIR)$(UNITDIR)/$$unit || exit 1; \
	done
	install -m 0644 web/nginx/pam-totp-web.conf $(DESTDIR)$(DOCDIR)/nginx/
	install -m 0644 web/pam-totp-web.conf $(DESTDIR)$(DOCDIR)/
	test -e $(DESTDIR)$(SYSCONFDIR)/nginx/sites-available/pam-totp-web || \
	    install -m 0644 web/nginx/pam-totp-web.conf $(DESTDIR)$(SYSCONFDIR)/nginx/sites-available/pam-totp-web
	test -e $(DESTDIR)$(SYSCONFDIR)/pam-totp-web.conf || \
	    install -m 0644 web/pam-totp-web.conf $(DESTDIR)$(SYSCONFDIR)/pam-totp-web.conf
	install -m 0644 man/pam-totp-web.8 $(DESTDIR)$(MANDIR)/man8/

# Also removes the tool from sbin, where installs before issue 12 put it.
uninstall:
	rm -f $(DESTDIR)$(PAMDIR)/pam_totp.so $(DESTDIR)$(PREFIX)/bin/pam-totp-setup $(DESTDIR)$(PREFIX)/sbin/pam-totp-setup
	rm -f $(DESTDIR)$(SYSCONFDIR)/fail2ban/filter.d/pam-totp.conf $(DESTDIR)$(SYSCONFDIR)/fail2ban/jail.d/pam-totp.conf
	-rmdir --ignore-fail-on-non-empty $(DESTDIR)$(SYSCONFDIR)/fail2ban/filter.d $(DESTDIR)$(SYSCONFDIR)/fail2ban/jail.d \
	    $(DESTDIR)$(SYSCONFDIR)/fail2ban 2>/dev/null
	rm -rf $(DESTDIR)$(DOCDIR)
	rm -f $(DESTDIR)$(MANDIR)/man1/pam-totp-setup.1 $(DESTDIR)$(MANDIR)/man8/pam_totp.8 \
	    $(DESTDIR)$(PREFIX)/lib/tmpfiles.d/pam-totp.conf
	rm -f $(DESTDIR)$(PREFIX)/share/bash-completion/completions/pam-totp-setup \
	    $(DESTDIR)$(ZSHCOMPDIR)/_pam-totp-setup \
	    $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/pam-totp-setup.fish
	rm -f $(DESTDIR)$(PREFIX)/sbin/pam-totp-web $(DESTDIR)$(MANDIR)/man8/pam-totp-web.8 \
	    $(DESTDIR)$(UNITDIR)/pam-totp-web.service $(DESTDIR)$(UNITDIR)/pam-totp-web-helper.service
	rm -rf $(DESTDIR)$(WEBDATADIR)
	@# The portal's configuration and nginx site go only if they are as installed (an edited one is the
	@# admin's), and the site only while it is not enabled (a dangling link would stop nginx).
	@if cmp -s web/pam-totp-web.conf $(DESTDIR)$(SYSCONFDIR)/pam-totp-web.conf; then rm -f $(DESTDIR)$(SYSCONFDIR)/pam-totp-web.conf; \
	elif [ -e $(DESTDIR)$(SYSCONFDIR)/pam-totp-web.conf ]; then echo "left $(SYSCONFDIR)/pam-totp-web.conf in place: it was edited"; fi
	@site=$(DESTDIR)$(SYSCONFDIR)/nginx/sites-available/pam-totp-web; \
	if [ -e $(DESTDIR)$(SYSCONFDIR)/nginx/sites-enabled/pam-totp-web ] || [ -L $(DESTDIR)$(SYSCONFDIR)/nginx/sites-enabled/pam-totp-web ]; then echo "left $(SYSCONFDIR)/nginx/sites-available/pam-totp-web in place: it is enabled"; \
	elif cmp -s web/nginx/pam-totp-web.conf $$site; then rm -f $$site; \
	    rmdir --ignore-fail-on-non-empty $(DESTDIR)$(SYSCONFDIR)/nginx/sites-available $(DESTDIR)$(SYSCONFDIR)/nginx 2>/dev/null || true; \
	elif [ -e $$site ]; then echo "left $(SYSCONFDIR)/nginx/sites-available/pam-totp-web in place: it was edited"; fi
	@echo "left $(STATEDIR) in place: it holds users' replay and recovery-code state"

format:
	$(SWIFT) format --in-place --recursive Sources Tests Package.swift web/Package.swift web/Sources

lint:
	$(SWIFT) format lint --strict --recursive Sources Tests Package.swift web/Package.swift web/Sources

clean:
	rm -rf build $(RELEASE_SCRATCH) $(DEBUG_SCRATCH) $(WEB_SCRATCH) $(EMBEDDED)

# Fuzzing (not part of check): each parser with libFuzzer and AddressSanitizer for FUZZ_SECONDS,
# starting from the committed seeds in Fuzz/corpus/TARGET; what it finds goes to .build-fuzz/.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := enrollment state options base32 input
fuzz:
	$(SWIFT) build --package-path Fuzz --scratch-path .build-fuzz -c debug \
	    -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
	@for t in $(FUZZ_TARGETS); do \
	    mkdir -p .build-fuzz/corpus/$$t .build-fuzz/crashes/$$t; \
	    echo "== fuzzing $$t for $(FUZZ_SECONDS) s"; \
	    FUZZ_TARGET=$$t .build-fuzz/debug/pam-totp-fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
	        -artifact_prefix=.build-fuzz/crashes/$$t/ -print_final_stats=1 \
	        .build-fuzz/corpus/$$t Fuzz/corpus/$$t 2>&1 | grep -E "stat::number_of_executed_units|Done|ERROR|SUMMARY" || exit 1; \
	done

# Benchmarks against google-authenticator-libpam and pam_oath (not part of check): installs what it
# needs, measures every target of issue 13 in one interleaved run, with the PostgreSQL store's rows of
# issue 14 (a throwaway PostgreSQL server on 127.0.0.1, port BENCH_PG_PORT, default 25437, and a PgBouncer
# on a Unix socket in front of it, set up as docs/SEVERAL-SERVERS.md says), prints a
# table with ratios and verdicts and writes docs/BENCHMARKS.md; then the probe-timing measurement. Needs
# root; changes nothing in /etc. bench/ holds the scripts, the C drivers and bench/swift, the in-process Swift part.
# The package installation and the real-sshd part hold /tmp/pamtotp-system.lock, as the tests do.
BENCH_PACKAGES := libpam-google-authenticator libpam-oath pamtester libnss-wrapper openssh-server openssh-client postgresql libpq5 \
                  pgbouncer python3-pytest
bench: build harness bench-tools
	@missing=""; for p in $(BENCH_PACKAGES); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; flock /tmp/pamtotp-system.lock sh -c \
	    "apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing"; fi
	$(SWIFT) build --package-path bench/swift --scratch-path .build-bench -c release
	PAMTOTP_BENCH_INSIDE= $(PYTHON) bench/bench.py
	$(PYTHON) bench/probe_timing.py

# make bench's C driver of cold logins, and a variant of the module that differs from build/pam_totp.so
# only in bench/variants.c, linked in with --wrap: every state write fsynced (file and directory), as
# before durability was decided per write. Built from the same objects; never installed (docs/DESIGN.md,
# "Durability").
BENCH_VARIANTS := syncall
VARIANT_syncall := -DBENCH_VARIANT_SYNCALL -Wl,--wrap=renameat
bench-tools: build/bench/loadgen $(patsubst %,build/bench/pam_totp-%.so,$(BENCH_VARIANTS))
build/bench/loadgen: bench/loadgen.c
	mkdir -p build/bench
	cc -O2 -Wall -Wextra -Werror -o $@ $<
build/bench/pam_totp-%.so: bench/variants.c $(MODULE_SWIFT) $(MODULE_C) $(C_HEADERS) Sources/CPAMTOTPShim/pam_totp.map
	mkdir -p build/bench
	$(EMBEDDED_CC) -o $@ $(MODULE_LINK) bench/variants.c $(VARIANT_$*)
	strip --strip-unneeded $@

# Whether the module's timing tells unknown, unenrolled and enrolled users apart (issue 11, item 3;
# not part of check): interleaved logins with wrong codes, timed in process by pamdrive -t, with
# Mann-Whitney and Kolmogorov-Smirnov tests; writes docs/PROBE-TIMING.md. PROBE_SAMPLES per class
# (default 200). Needs root; changes nothing in /etc.
bench-probe: build harness
	$(PYTHON) bench/probe_timing.py
