# Homebrew formula for the session-lattice CLI (the one binary both daemons run).
#
# The daemons are installed as two companion service formulae, because Homebrew allows one
# `service do` block per formula:
#   brew install session-lattice-puller session-lattice-reads
#   brew services start session-lattice-puller
#   brew services start session-lattice-reads
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
