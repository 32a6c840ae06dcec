# frozen_string_literal: true

# Loads a Homebrew formula file without Homebrew, with just enough of the Formula DSL stubbed to
# see what it declares, and prints that as JSON (read by test/formula.test.ts):
#
#   ruby test/formula/inspect-formula.rb <Formula/x.rb> <path to the built dist/src/cli.js>
#
# What it does with the formula:
# - records the class-level DSL (desc, url, sha256, depends_on, ...);
# - evaluates the `service do` block against a stub of Homebrew::Service (run, keep_alive,
#   log paths, environment_variables, working_dir, ...);
# - runs `install` in a scratch keg (HOMEBREW_PREFIX is a temp dir). `system "npm", "install",
#   *std_npm_args` is simulated: it puts an executable `session-lattice` into <prefix>/bin, the
#   layout `npm install --global --prefix` gives (test/package.test.ts checks that layout for real)
#   which runs the built CLI;
# - runs the `test do` block for real against that keg: shell_output, assert_match & co. run the
#   commands and check them as Homebrew would, in a scratch testpath with HOME pointing at it.
#
# Paths under the scratch HOMEBREW_PREFIX are reported with the prefix replaced by
# "$HOMEBREW_PREFIX" (other scratch paths by "$SANDBOX"), so the output does not depend on where it
# ran. FORMULA_NODE names the node binary the installed `session-lattice` runs with.

require "json"
require "fileutils"
require "open3"
require "pathname"
require "socket"
require "tmpdir"

FORMULA_FILE = ARGV.fetch(0)
CLI_JS = File.expand_path(ARGV.fetch(1))
SANDBOX = Pathname.new(Dir.mktmpdir("formula-sandbox-"))
at_exit { FileUtils.rm_rf(SANDBOX) }

HOMEBREW_PREFIX = SANDBOX/"prefix"
HOMEBREW_PREFIX.mkpath

# An executable that runs the built CLI, as an installed `session-lattice` would.
def write_cli_wrapper(path)
  path.dirname.mkpath
  path.write("#!/bin/sh\nexec \"#{ENV.fetch("FORMULA_NODE", "node")}\" \"#{CLI_JS}\" \"$@\"\n")
  path.chmod(0o755)
end

def public_path(value)
  case value
  when Pathname then public_path(value.to_s)
  when String then value.gsub(HOMEBREW_PREFIX.to_s, "$HOMEBREW_PREFIX").gsub(SANDBOX.to_s, "$SANDBOX")
  when Array then value.map { |v| public_path(v) }
  when Hash then value.to_h { |k, v| [k.to_s, public_path(v)] }
  when Symbol then value.to_s
  else value
  end
end

# Homebrew's Pathname extensions used by formulae.
class Pathname
  # Homebrew's write creates the directory and refuses to overwrite.
  alias plain_write write
  def write(content, *args, **kwargs)
    raise "Will not overwrite #{self}" if exist?

    dirname.mkpath
    plain_write(content, *args, **kwargs)
  end

  def install(*sources)
    mkpath
    sources.flatten.each do |src|
      src = Pathname.new(src.to_s)
      FileUtils.mv(src, self/src.basename)
    end
  end

  def install_symlink(*targets)
    mkpath
    targets.flatten.each do |t|
      t = Pathname.new(t.to_s)
      File.symlink(t, self/t.basename)
    end
  end
end

class AssertionFailed < StandardError; end

# The stub of Homebrew::Service: `service do ... end` is evaluated on one of these.
class ServiceStub
  attr_reader :values

  def initialize(formula)
    @formula = formula
    @values = { "environment_variables" => {} }
  end

  %i[run keep_alive working_dir log_path error_log_path process_type run_type interval
     require_root input_path root_dir restart_delay macos_legacy_timers nice cron sockets
     name].each do |m|
    define_method(m) do |*args, **kwargs|
      value = if !kwargs.empty? then kwargs
              elsif args.length == 1 then args.first
              else args
              end
      @values[m.to_s] = value
    end
  end

  def environment_variables(hash = {})
    @values["environment_variables"] = @values["environment_variables"].merge(hash.transform_keys(&:to_s))
  end

  def std_service_path_env
    "#{HOMEBREW_PREFIX}/bin:#{HOMEBREW_PREFIX}/sbin:/usr/bin:/bin:/usr/sbin:/sbin"
  end

  %i[bin etc libexec opt_bin opt_libexec opt_pkgshare opt_prefix opt_sbin var prefix pkgshare].each do |m|
    define_method(m) { @formula.public_send(m) }
  end
end

# Another formula as `Formula["name"]` sees it (a dependency, installed).
class InstalledFormula
  attr_reader :name

  def initialize(name)
    @name = name
  end

  def opt_prefix = HOMEBREW_PREFIX/"opt"/name
  def opt_bin = opt_prefix/"bin"
  def opt_libexec = opt_prefix/"libexec"
  def opt_pkgshare = opt_prefix/"share"/name
end

class Formula
  DSL = %i[desc homepage url sha256 license head mirror revision version_scheme].freeze

  class << self
    attr_reader :declared, :service_block, :test_block

    def inherited(subclass)
      super
      (@subclasses ||= []) << subclass
      subclass.instance_variable_set(:@declared, { "depends_on" => [] })
    end

    def subclasses_defined = @subclasses || []

    DSL.each do |m|
      define_method(m) { |value| @declared[m.to_s] = value }
    end

    def version(value = nil)
      return @declared["version"] = value if value

      @declared["version"] || @declared["url"].to_s[/-(\d+(?:\.\d+)+)\.(?:tgz|tar\.gz)\z/, 1]
    end

    def depends_on(dep)
      @declared["depends_on"] << (dep.is_a?(Hash) ? dep.keys.first.to_s : dep.to_s)
    end

    def uses_from_macos(*) = nil
    def conflicts_with(*) = nil
    def livecheck(&) = nil
    def bottle(&) = nil
    def keg_only(*) = nil

    def service(&block)
      @service_block = block
    end

    def test(&block)
      @test_block = block
    end

    def [](name)
      InstalledFormula.new(name)
    end
  end

  attr_reader :commands

  def initialize
    @commands = []
  end

  def name
    self.class.name.gsub(/([a-z0-9])([A-Z])/, '\1-\2').downcase
  end

  def version = self.class.version
  def prefix = HOMEBREW_PREFIX/"Cellar"/name/version.to_s
  def bin = prefix/"bin"
  def sbin = prefix/"sbin"
  def libexec = prefix/"libexec"
  def share = prefix/"share"
  def pkgshare = share/name
  def etc = HOMEBREW_PREFIX/"etc"
  def var = HOMEBREW_PREFIX/"var"
  def opt_prefix = HOMEBREW_PREFIX/"opt"/name
  def opt_bin = opt_prefix/"bin"
  def opt_libexec = opt_prefix/"libexec"
  def opt_pkgshare = opt_prefix/"share"/name
  def testpath = SANDBOX/"testpath"

  # Homebrew's std_npm_args: a global-style install of the packed module into libexec.
  def std_npm_args(prefix: libexec)
    %W[--loglevel=silly --global --build-from-source --ignore-scripts --prefix=#{prefix}
       #{Dir.pwd}/#{name}-#{version}.tgz]
  end

  def std_service_path_env
    "#{HOMEBREW_PREFIX}/bin:#{HOMEBREW_PREFIX}/sbin:/usr/bin:/bin:/usr/sbin:/sbin"
  end

  def system(*args)
    @commands << public_path(args.map(&:to_s))
    if args[0] == "npm" && args[1] == "install"
      target = args.map(&:to_s).find { |a| a.start_with?("--prefix=") }&.delete_prefix("--prefix=")
      raise AssertionFailed, "npm install without --prefix" unless target

      write_cli_wrapper(Pathname.new(target)/"bin"/"session-lattice")
      return true
    end
    return Kernel.system(*args.map(&:to_s)) if @testing

    true
  end

  def ohai(*) = nil
  def opoo(*) = nil

  # ---- the test-block helpers, as Homebrew's (minitest) assertions behave -------------------

  def free_port
    server = TCPServer.new("127.0.0.1", 0)
    port = server.addr[1]
    server.close
    port
  end

  def shell_output(cmd, result = 0)
    output, status = Open3.capture2("/bin/sh", "-c", cmd.to_s)
    @commands << public_path(cmd.to_s)
    code = status.exitstatus
    raise AssertionFailed, "`#{public_path(cmd)}` exited #{code.inspect}, expected #{result}\n#{output}" unless code == result

    output
  end

  def pipe_output(cmd, input = nil, result = nil)
    output, status = Open3.capture2("/bin/sh", "-c", cmd.to_s, stdin_data: input.to_s)
    @commands << public_path(cmd.to_s)
    raise AssertionFailed, "`#{cmd}` exited #{status.exitstatus}, expected #{result}" if result && status.exitstatus != result

    output
  end

  def assert(value, msg = nil)
    raise AssertionFailed, msg || "expected a truthy value" unless value
  end

  def assert_match(pattern, text)
    ok = pattern.is_a?(Regexp) ? pattern.match?(text.to_s) : text.to_s.include?(pattern.to_s)
    raise AssertionFailed, "expected #{public_path(text.to_s).inspect} to match #{pattern.inspect}" unless ok
  end

  def refute_match(pattern, text)
    ok = pattern.is_a?(Regexp) ? pattern.match?(text.to_s) : text.to_s.include?(pattern.to_s)
    raise AssertionFailed, "expected #{text.to_s.inspect} not to match #{pattern.inspect}" if ok
  end

  def assert_equal(expected, actual)
    raise AssertionFailed, "expected #{expected.inspect}, got #{actual.inspect}" unless expected == actual
  end

  def assert_predicate(obj, predicate)
    raise AssertionFailed, "expected #{obj} to be #{predicate}" unless obj.public_send(predicate)
  end

  def assert_path_exists(path)
    raise AssertionFailed, "expected #{public_path(path)} to exist" unless File.exist?(path.to_s)
  end

  def refute_path_exists(path)
    raise AssertionFailed, "expected #{public_path(path)} not to exist" if File.exist?(path.to_s)
  end

  def run_test
    @testing = true
    testpath.mkpath
    old_home = ENV.fetch("HOME", nil)
    ENV["HOME"] = testpath.to_s
    Dir.chdir(testpath) { instance_exec(&self.class.test_block) }
  ensure
    ENV["HOME"] = old_home
    @testing = false
  end
end

def keg_files(prefix)
  return [] unless prefix.exist?

  Dir.glob("**/*", File::FNM_DOTMATCH, base: prefix.to_s)
     .reject { |rel| %w[. ..].include?(File.basename(rel)) }
     .select { |rel| File.file?(prefix/rel) || File.symlink?(prefix/rel) }
     .sort
end

report = { "file" => FORMULA_FILE, "errors" => [] }
begin
  load File.expand_path(FORMULA_FILE)
  classes = Formula.subclasses_defined
  raise "expected one Formula subclass in #{FORMULA_FILE}, found #{classes.length}" unless classes.length == 1

  klass = classes.first
  formula = klass.new
  report["class"] = klass.name
  report["name"] = formula.name
  report["version"] = formula.version
  report.merge!(public_path(klass.declared))
  report["depends_on"] = klass.declared["depends_on"]

  # The dependency the companions run: an installed session-lattice in opt/.
  write_cli_wrapper(InstalledFormula.new("session-lattice").opt_bin/"session-lattice")

  if klass.service_block
    service = ServiceStub.new(formula)
    service.instance_eval(&klass.service_block)
    report["service"] = public_path(service.values)
  else
    report["service"] = nil
  end

  report["caveats"] = formula.respond_to?(:caveats) ? public_path(formula.caveats.to_s) : nil

  Dir.chdir(Dir.mktmpdir("formula-build-", SANDBOX.to_s)) { formula.install }
  report["install_commands"] = formula.commands.dup
  report["installed_files"] = keg_files(formula.prefix)
  # Homebrew links the keg into opt/ once installed.
  formula.opt_prefix.dirname.mkpath
  File.symlink(formula.prefix, formula.opt_prefix) unless formula.opt_prefix.exist?

  if klass.test_block
    formula.commands.clear
    begin
      formula.run_test
      report["test"] = { "passed" => true, "error" => nil, "commands" => formula.commands }
    rescue AssertionFailed, StandardError => e
      report["test"] = { "passed" => false, "error" => "#{e.class}: #{public_path(e.message)}", "commands" => formula.commands }
    end
  else
    report["test"] = nil
  end
rescue StandardError, ScriptError => e
  report["errors"] << "#{e.class}: #{e.message}\n#{e.backtrace&.first(5)&.join("\n")}"
end

puts JSON.pretty_generate(report)
