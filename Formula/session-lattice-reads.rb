# The read server of session-lattice as a Homebrew service: `brew services start session-lattice-reads`.
# A companion of the `session-lattice` formula (which installs the binary): Homebrew allows one
# `service do` block per formula, and the read server must keep answering whatever the puller does.
class SessionLatticeReads < Formula
  desc "Service: read-only HTTP and MCP API over session-lattice snapshots (127.0.0.1:7778)"
  homepage "https://www.npmjs.com/package/session-lattice"
  url "https://registry.npmjs.org/session-lattice/-/session-lattice-0.1.0.tgz"
  # Placeholder: filled in at release (same tarball and sha256 as the session-lattice formula).
  sha256 "0000000000000000000000000000000000000000000000000000000000000000"
  license "MIT"

  depends_on "session-lattice"

  def install
    (pkgshare/"README").write <<~EOS
      session-lattice-reads runs `session-lattice serve-reads` as a service:
        brew services start session-lattice-reads

      It serves the views of the snapshot the puller (session-lattice-puller) publishes at
      $SESSION_LATTICE_HOME/session-lattice.duckdb, over HTTP and /mcp on http://127.0.0.1:7778,
      read-only: it opens read-only DuckDB handles only and writes no file under the home.
      Health: GET http://127.0.0.1:7778/healthz, or `session-lattice status`.

      Home: ~/.session-lattice (the same as the CLI's default and session-lattice-puller's, so the
      two services and `session-lattice status` see the same files). session-lattice expands the
      leading ~ itself, with the home directory of the user the service runs as.
      Logs: #{var}/log/session-lattice-reads.log and #{var}/log/session-lattice-reads.error.log

      #{settings_readme.chomp}
      To change one, edit the service file `brew services info session-lattice-reads` names, or
      run `session-lattice serve-reads --help` for the flags.
    EOS
  end

  # generated:settings-readme
  # The settings part of the README install writes (src/shared/settings/table.ts; npm run generate).
  def settings_readme
    <<~EOS
      Settings (environment variables; the service sets each to its default):
        SESSION_LATTICE_HOME                      ~/.session-lattice
        SESSION_LATTICE_HOST                      127.0.0.1
        SESSION_LATTICE_PORT                      7778
        SESSION_LATTICE_ALLOWED_HOSTS             (empty: none)
        SESSION_LATTICE_STALE_AFTER_INTERVALS     3
        SESSION_LATTICE_REFRESH_INTERVAL_SECONDS  60
        SESSION_LATTICE_REQUEST_TIMEOUT_SECONDS   30
        SESSION_LATTICE_MAX_CONNECTIONS           512
        SESSION_LATTICE_QUERY_MEMORY_MB           1024
        SESSION_LATTICE_MEMORY_LIMIT              2GB
        SESSION_LATTICE_THREADS                   2
        SESSION_LATTICE_MAX_EVENT_SUBSCRIBERS     64
        SESSION_LATTICE_EVENTS_HEARTBEAT_SECONDS  15
        SESSION_LATTICE_LOG_LEVEL                 info
        SESSION_LATTICE_LOG_FORMAT                auto
    EOS
  end
  # /generated:settings-readme

  service do
    run [Formula["session-lattice"].opt_bin/"session-lattice", "serve-reads"]
    keep_alive true
    working_dir var
    log_path var/"log/session-lattice-reads.log"
    error_log_path var/"log/session-lattice-reads.error.log"
    # generated:environment
    # Every setting `session-lattice serve-reads` reads, at its default (src/shared/settings/table.ts; npm run generate).
    environment_variables PATH:                                     std_service_path_env,
                          SESSION_LATTICE_HOME:                     "~/.session-lattice",
                          SESSION_LATTICE_HOST:                     "127.0.0.1",
                          SESSION_LATTICE_PORT:                     "7778",
                          SESSION_LATTICE_ALLOWED_HOSTS:            "",
                          SESSION_LATTICE_STALE_AFTER_INTERVALS:    "3",
                          SESSION_LATTICE_REFRESH_INTERVAL_SECONDS: "60",
                          SESSION_LATTICE_REQUEST_TIMEOUT_SECONDS:  "30",
                          SESSION_LATTICE_MAX_CONNECTIONS:          "512",
                          SESSION_LATTICE_QUERY_MEMORY_MB:          "1024",
                          SESSION_LATTICE_MEMORY_LIMIT:             "2GB",
                          SESSION_LATTICE_THREADS:                  "2",
                          SESSION_LATTICE_MAX_EVENT_SUBSCRIBERS:    "64",
                          SESSION_LATTICE_EVENTS_HEARTBEAT_SECONDS: "15",
                          SESSION_LATTICE_LOG_LEVEL:                "info",
                          SESSION_LATTICE_LOG_FORMAT:               "auto"
    # /generated:environment
  end

  def caveats
    <<~EOS
      Start the two session-lattice services (they restart independently):
        brew services start session-lattice-puller
        brew services start session-lattice-reads
      API:    http://127.0.0.1:7778 (GET /healthz, /views, /views/{name}; MCP at /mcp)
      Data:   ~/.session-lattice (published snapshot: ~/.session-lattice/session-lattice.duckdb)
      Logs:   #{var}/log/session-lattice-reads.log, #{var}/log/session-lattice-reads.error.log
      Health: session-lattice status
    EOS
  end

  test do
    assert_path_exists pkgshare/"README"
    assert_match "serve-reads", shell_output("#{Formula["session-lattice"].opt_bin}/session-lattice --help")
  end
end
