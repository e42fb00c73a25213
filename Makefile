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

RELEASE_SCRATCH := .build-release
DEBUG_SCRATCH   := .build-debug
# -static-stdlib: the module carries the Swift standard library, so servers need no Swift runtime.
# lld: gold leaves GLOB_DAT relocations against local Swift type metadata, which puts those local
# symbols into .dynsym; lld resolves them, so the module's dynamic symbols are only pam_sm_*.
# tools/link/libstdc++.so: libstdc++ linked statically too (the file says why). pack-relative-relocs:
# the module's 18,000 relative relocations as a few kilobytes of DT_RELR (glibc 2.36) rather than
# 440 kB of RELA, so loading it touches fewer pages. hot-functions.txt: the code a login runs, placed
# together (`make hot-functions` regenerates it; bench/hot_functions.py says why).
RELEASE_FLAGS   := -c release --scratch-path $(RELEASE_SCRATCH) --disable-local-rpath -Xswiftc -static-stdlib \
                   -Xswiftc -use-ld=lld -Xswiftc -L$(CURDIR)/tools/link -Xlinker -z -Xlinker pack-relative-relocs \
                   -Xlinker --symbol-ordering-file=$(CURDIR)/tools/link/hot-functions.txt -Xlinker --no-warn-symbol-ordering

# libstdc++-12-dev: libstdc++.a, which the release link puts into the module (tools/link/libstdc++.so).
# debhelper, lintian, dpkg-dev, fakeroot: make deb and its test. fail2ban: fail2ban-regex for the filter
# test. systemd-journal-remote: writes the journal file the Troubleshooting advice is tested on.
DEB_PACKAGES := libpam0g-dev libssl-dev libqrencode-dev libstdc++-12-dev pamtester libpam-wrapper libnss-wrapper \
                oathtool zbar-tools libmagickcore-6.q16-6-extra libpam-google-authenticator gcc make \
                binutils util-linux passwd python3 python3-pytest python3-pexpect valgrind faketime \
                openssh-server openssh-client ocserv openconnect gnutls-bin sudo fail2ban \
                debhelper lintian dpkg-dev fakeroot systemd-journal-remote tmux

.PHONY: all build deb deps check unit integration install uninstall clean format lint harness demo demo-auto fuzz bench bench-probe hot-functions

all: build

build:
	$(SWIFT) build $(RELEASE_FLAGS) --product pam_totp
	$(SWIFT) build $(RELEASE_FLAGS) --product pam-totp-setup
	mkdir -p build
	cp $(RELEASE_SCRATCH)/release/libpam_totp.so build/pam_totp.so
	cp $(RELEASE_SCRATCH)/release/pam-totp-setup build/pam-totp-setup
	strip --strip-unneeded build/pam_totp.so build/pam-totp-setup

# Installs the Debian packages the build and the tests need; does nothing when all are present.
deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	else echo "all build and test packages are installed"; fi

# The C program the integration tests drive PAM with (pam_start_confdir and a scripted conversation).
# libsyslog_capture.so is preloaded by the tests to read what the module and the tool log;
# libnss_casefold.so makes user look-ups ignore case, as SSSD and LDAP do; libfree_scan.so is
# preloaded by the freed-memory test, to look for secrets in every block the module frees.
harness: build/pamdrive build/libsyslog_capture.so build/libnss_casefold.so build/libfree_scan.so
build/pamdrive: Tests/harness/pamdrive.c
	mkdir -p build
	cc -O2 -Wall -Wextra -Werror -o $@ $< -lpam
build/libsyslog_capture.so: Tests/harness/syslog_capture.c
	mkdir -p build
	cc -O2 -Wall -Wextra -Werror -shared -fPIC -o $@ $<
build/libnss_casefold.so: Tests/harness/nss_casefold.c
	mkdir -p build
	cc -O2 -Wall -Wextra -Werror -shared -fPIC -o $@ $< -ldl
build/libfree_scan.so: Tests/harness/free_scan.c
	mkdir -p build
	cc -O2 -Wall -Wextra -Werror -shared -fPIC -o $@ $< -ldl

check: lint build harness unit demo-auto deb integration

# The Debian package (debian/), from the release build in build/ (debian/rules says why), staged in
# build/deb/pam-totp-VERSION so that dpkg-buildpackage writes its results into build/deb/, not into
# the repository's parent directory. Tests/e2e/test_package.py runs lintian on it, installs, uses
# and purges it.
DEB_VERSION = $(shell dpkg-parsechangelog -l debian/changelog -S Version)
DEB_STAGE   = build/deb/pam-totp-$(DEB_VERSION)
deb: build
	@tool="$$(build/pam-totp-setup --version)"; test "$$tool" = "$(DEB_VERSION)" || \
	    { echo "debian/changelog says $(DEB_VERSION) but pam-totp-setup --version says $$tool"; exit 1; }
	rm -rf build/deb
	mkdir -p $(DEB_STAGE)/build $(DEB_STAGE)/docs
	cp -r debian Makefile README.md man pam.d-examples sshd_config.d tmpfiles.d fail2ban $(DEB_STAGE)/
	cp docs/FILEFORMAT.md $(DEB_STAGE)/docs/
	cp build/pam_totp.so build/pam-totp-setup $(DEB_STAGE)/build/
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

# The tool goes to bin, not sbin: users enroll themselves with it, and sbin is not on their PATH.
# bash-completion sources its files: argument-parser's "#!/bin/bash" line is dropped (lintian flags it).
install: build
	install -d $(DESTDIR)$(PAMDIR) $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(DOCDIR)/pam.d-examples
	install -m 0644 build/pam_totp.so $(DESTDIR)$(PAMDIR)/pam_totp.so
	install -m 0755 build/pam-totp-setup $(DESTDIR)$(PREFIX)/bin/pam-totp-setup
	install -m 0644 pam.d-examples/* $(DESTDIR)$(DOCDIR)/pam.d-examples/
	install -d $(DESTDIR)$(DOCDIR)/sshd_config.d
	install -m 0644 sshd_config.d/*.conf $(DESTDIR)$(DOCDIR)/sshd_config.d/
	install -m 0644 README.md docs/FILEFORMAT.md $(DESTDIR)$(DOCDIR)/
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
	@echo "left $(STATEDIR) in place: it holds users' replay and recovery-code state"

format:
	$(SWIFT) format --in-place --recursive Sources Tests Package.swift

lint:
	$(SWIFT) format lint --strict --recursive Sources Tests Package.swift

clean:
	rm -rf build $(RELEASE_SCRATCH) $(DEBUG_SCRATCH)

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
# needs, prints a table and writes docs/BENCHMARKS.md. Needs root; changes nothing in /etc.
BENCH_PACKAGES := libpam-google-authenticator libpam-oath pamtester hyperfine time
bench: build harness
	@missing=""; for p in $(BENCH_PACKAGES); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; fi
	$(SWIFT) build --package-path Bench --scratch-path .build-bench -c release
	PAMTOTP_BENCH_INSIDE= $(PYTHON) bench/bench.py
	$(PYTHON) bench/probe_timing.py

# Whether the module's timing tells unknown, unenrolled and enrolled users apart (issue 11, item 3;
# not part of check): interleaved logins with wrong codes, timed in process by pamdrive -t, with
# Mann-Whitney and Kolmogorov-Smirnov tests; writes docs/PROBE-TIMING.md. PROBE_SAMPLES per class
# (default 200). Needs root; changes nothing in /etc.
bench-probe: build harness
	$(PYTHON) bench/probe_timing.py

# Rewrites tools/link/hot-functions.txt from callgrind profiles of real logins, then relinks with it.
hot-functions: build
	PAMTOTP_BENCH_INSIDE= $(PYTHON) bench/hot_functions.py
	rm -f $(RELEASE_SCRATCH)/release/libpam_totp.so
	$(MAKE) build
