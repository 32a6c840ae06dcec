# Homebrew formula for the session-lattice CLI (the one binary both daemons run).
#
# The daemons are installed as two companion service formulae, because Homebrew allows one
# `service do` block per formula:
#   brew install session-lattice-puller session-lattice-reads
#   brew services start session-lattice-puller
#   brew services start session-lattice-reads
#
# NOT INSTALLABLE YET. There is no release: the `url` below (and in the two companions) names an
# npm tarball that does not exist, because the package is not published, and the `sha256` is a
# placeholder of zeros. A release must provide, for all three formulae alike:
#   - url:    the tarball `npm pack` makes, at a public URL: the npm registry's (after
#             `npm publish`: the URL below) or a file attached to a release of the repository
#             (test/formula.test.ts expects the npm URL: change it with the url);
#   - sha256: that tarball's (`shasum -a 256 session-lattice-<version>.tgz`).
# The `homepage` below also exists only once the package is on npm.
#
# Until then, install from a checkout: `npm ci && npm pack`, then copy the three formulae into a
# local tap (`brew tap-new <you>/local`; `brew --repository <you>/local` names its directory,
# formulae go in its Formula/), set their `url` to "file://<absolute path of the .tgz>" and their
# `sha256` to its checksum, `brew trust <you>/local` (Homebrew 6.0 and later), and
# `brew install <you>/local/session-lattice`. README.md ("Homebrew") has the exact commands. There
# is no `head` URL: the repository has no public URL yet, and a git checkout has no built dist/
# (Homebrew runs `npm pack --ignore-scripts`, which skips the `prepack` build).
class SessionLattice < Formula
  desc "Materialized DuckDB views over Claude Code sessions pulled from repo-recall"
  homepage "https://www.npmjs.com/package/session-lattice"
  url "https://registry.npmjs.org/session-lattice/-/session-lattice-0.1.0.tgz"
  # Placeholder: filled in at release with the sha256 of the published tarball
  # (`curl -sL <url> | shasum -a 256`).
  sha256 "0000000000000000000000000000000000000000000000000000000000000000"
  license "MIT"

  depends_on "node"

  def install
    system "npm", "install", *std_npm_args
    bin.install_symlink libexec.glob("bin/*")
  end

  def caveats
    <<~EOS
      session-lattice keeps its data in ~/.session-lattice (set SESSION_LATTICE_HOME or --home to
      change it). To run the two daemons as services:
        brew install session-lattice-puller session-lattice-reads
        brew services start session-lattice-puller
        brew services start session-lattice-reads
      Then `session-lattice status` shows their health.
    EOS
  end

  test do
    assert_match version.to_s, shell_output("#{bin}/session-lattice --version")

    # A pull against a repo-recall that is down must fail, exit 1, and say why.
    port = free_port
    output = shell_output(
      "#{bin}/session-lattice pull --home #{testpath}/home " \
      "--repo-recall-url http://127.0.0.1:#{port} --upstream-retries 0 2>&1", 1
    )
    assert_match "pull failed", output
    assert_match "cannot reach repo-recall at http://127.0.0.1:#{port} (connection refused)", output

    # Nothing was published, and `status` says so with exit 1.
    assert_match "nothing is published yet", shell_output("#{bin}/session-lattice status --home #{testpath}/home", 1)
  end
end
