# The puller daemon of session-lattice as a Homebrew service: `brew services start session-lattice-puller`.
# A companion of the `session-lattice` formula (which installs the binary): Homebrew allows one
# `service do` block per formula, and the puller and the read server must restart independently.
class SessionLatticePuller < Formula
  desc "Service: pull repo-recall on a tick and publish session-lattice DuckDB snapshots"
  homepage "https://www.npmjs.com/package/session-lattice"
  url "https://registry.npmjs.org/session-lattice/-/session-lattice-0.1.0.tgz"
  # Placeholder: filled in at release (same tarball and sha256 as the session-lattice formula).
  sha256 "0000000000000000000000000000000000000000000000000000000000000000"
  license "MIT"

  depends_on "session-lattice"

  def install
    (pkgshare/"README").write <<~EOS
      session-lattice-puller runs `session-lattice serve-puller` as a service:
        brew services start session-lattice-puller

      It pulls GET /api/sessions from repo-recall every refresh interval, materializes the views
      and publishes each generation to $SESSION_LATTICE_HOME/session-lattice.duckdb. Its health is
      in $SESSION_LATTICE_HOME/puller/status.json (`session-lattice status` prints it).

      Home: ~/.session-lattice (the same as the CLI's default and session-lattice-reads', so the
      two services and `session-lattice status` see the same files). session-lattice expands the
      leading ~ itself, with the home directory of the user the service runs as.
      Logs: #{var}/log/session-lattice-puller.log and #{var}/log/session-lattice-puller.error.log

      #{settings_readme.chomp}
      To change one, edit the service file `brew services info session-lattice-puller` names, or
      run `session-lattice serve-puller --help` for the flags.
    EOS
  end

  # generated:settings-readme
  # The settings part of the README install writes (src/shared/settings/table.ts; npm run generate).
  def settings_readme
    <<~EOS
      Settings (environment variables; the service sets each to its default):
        SESSION_LATTICE_HOME                       ~/.session-lattice
        SESSION_LATTICE_REPO_RECALL_URL            http://127.0.0.1:7777
        SESSION_LATTICE_REFRESH_INTERVAL_SECONDS   60
        SESSION_LATTICE_MAX_PAYLOAD_MB             2048
        SESSION_LATTICE_UPSTREAM_TIMEOUT_SECONDS   60
        SESSION_LATTICE_UPSTREAM_RETRIES           3
        SESSION_LATTICE_UPSTREAM_DEADLINE_SECONDS  600
        SESSION_LATTICE_MAX_SHRINK_PERCENT         50
        SESSION_LATTICE_SHRINK_CONFIRM_TICKS       3
        SESSION_LATTICE_EVENTS_LOG_KB              1024
        SESSION_LATTICE_MEMORY_LIMIT               2GB
        SESSION_LATTICE_THREADS                    2
        SESSION_LATTICE_TIMEZONE                   (empty: the machine's zone)
        SESSION_LATTICE_PRICING_FILE               (empty: none)
        SESSION_LATTICE_TRANSCRIPTS                (empty: each CLAUDE_CONFIG_DIR entry's projects/, else ~/.config/claude/projects and ~/.claude/projects, those that exist)
        SESSION_LATTICE_LOG_LEVEL                  info
        SESSION_LATTICE_LOG_FORMAT                 auto
    EOS
  end
  # /generated:settings-readme

  service do
    run [Formula["session-lattice"].opt_bin/"session-lattice", "serve-puller"]
    keep_alive true
    working_dir var
    log_path var/"log/session-lattice-puller.log"
    error_log_path var/"log/session-lattice-puller.error.log"
    # generated:environment
    # Every setting `session-lattice serve-puller` reads, at its default (src/shared/settings/table.ts; npm run generate).
    environment_variables PATH:                                      std_service_path_env,
                          SESSION_LATTICE_HOME:                      "~/.session-lattice",
                          SESSION_LATTICE_REPO_RECALL_URL:           "http://127.0.0.1:7777",
                          SESSION_LATTICE_REFRESH_INTERVAL_SECONDS:  "60",
                          SESSION_LATTICE_MAX_PAYLOAD_MB:            "2048",
                          SESSION_LATTICE_UPSTREAM_TIMEOUT_SECONDS:  "60",
                          SESSION_LATTICE_UPSTREAM_RETRIES:          "3",
                          SESSION_LATTICE_UPSTREAM_DEADLINE_SECONDS: "600",
                          SESSION_LATTICE_MAX_SHRINK_PERCENT:        "50",
                          SESSION_LATTICE_SHRINK_CONFIRM_TICKS:      "3",
                          SESSION_LATTICE_EVENTS_LOG_KB:             "1024",
                          SESSION_LATTICE_MEMORY_LIMIT:              "2GB",
                          SESSION_LATTICE_THREADS:                   "2",
                          SESSION_LATTICE_TIMEZONE:                  "",
                          SESSION_LATTICE_PRICING_FILE:              "",
                          SESSION_LATTICE_TRANSCRIPTS:               "",
                          SESSION_LATTICE_LOG_LEVEL:                 "info",
                          SESSION_LATTICE_LOG_FORMAT:                "auto"
    # /generated:environment
  end

  def caveats
    <<~EOS
      Start the two session-lattice services (they restart independently):
        brew services start session-lattice-puller
        brew services start session-lattice-reads
      Data:   ~/.session-lattice (published snapshot: ~/.session-lattice/session-lattice.duckdb)
      Logs:   #{var}/log/session-lattice-puller.log, #{var}/log/session-lattice-puller.error.log
      Health: session-lattice status
      repo-recall must be reachable at http://127.0.0.1:7777 (SESSION_LATTICE_REPO_RECALL_URL).
    EOS
  end

  test do
    assert_path_exists pkgshare/"README"
    assert_match "serve-puller", shell_output("#{Formula["session-lattice"].opt_bin}/session-lattice --help")
  end
end
