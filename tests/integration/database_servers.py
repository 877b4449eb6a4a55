"""Database servers of a test's own, from Debian's packages: a PostgreSQL
cluster (initdb, postgres) and a MariaDB server (mariadb-install-db,
mariadbd), each in a temporary directory, on a loopback port and a socket
there, with a user `postfix` that logs in with a password; and an OpenLDAP
directory (slapd, mdb) loaded from LDIF. As root, PostgreSQL and MariaDB run
as Debian's postgres and mysql users (neither server runs as root).

    with PrivatePostgres() as pg:
        pg.execute("CREATE TABLE ...")   # as the superuser, in database `mail`
        pg.port, pg.socket_dir, pg.password

Both raise Unavailable when their programs are missing or they do not start,
so a test can skip with the reason."""

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time

from posternd import free_port


class Unavailable(Exception):
    pass


def _as_user(user, argv):
    """argv run as `user` when we are root (the servers refuse root)."""
    if os.geteuid() == 0:
        return ["runuser", "-u", user, "--"] + argv
    return argv


def _wait_for_port(process, port, what, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise Unavailable(f"{what} exited with status {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise Unavailable(f"{what} did not listen on port {port}")


class _Server:
    user = None
    what = None

    def __init__(self):
        self.dir = None
        self.process = None
        self.port = None
        self.password = "pw-Xq7'secret"  # a quote, to test quoting of the password

    def _make_directory(self, prefix):
        self.dir = tempfile.mkdtemp(prefix=prefix)
        os.chmod(self.dir, 0o755)
        if os.geteuid() == 0:
            shutil.chown(self.dir, self.user, self.user)

    def _start(self, argv_for_port):
        """The server process that `argv_for_port(port)` starts, on a free
        loopback port (another one when some other process took it first)."""
        for _ in range(5):
            self.port = free_port()
            self.process = subprocess.Popen(_as_user(self.user, argv_for_port(self.port)), stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                _wait_for_port(self.process, self.port, self.what)
                return
            except Unavailable:
                if self.process.poll() is None:
                    raise
        raise Unavailable(f"{self.what} did not start")

    def _run(self, argv, what):
        r = subprocess.run(_as_user(self.user, argv), capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise Unavailable(f"{what} failed: {(r.stderr or r.stdout).strip()[-400:]}")
        return r.stdout

    def __exit__(self, *exc):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
        return False


class PrivatePostgres(_Server):
    user = "postgres"
    what = "PostgreSQL"

    def __enter__(self):
        bindirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
        if not bindirs or not os.path.exists(os.path.join(bindirs[-1], "initdb")):
            raise Unavailable("PostgreSQL's server programs are not installed (Debian's postgresql)")
        bindir = bindirs[-1]
        self._make_directory("postern-pg-")
        data = os.path.join(self.dir, "data")
        self.socket_dir = self.dir
        try:
            self._run([os.path.join(bindir, "initdb"), "-D", data, "-U", "postgres", "--auth-local=trust",
                       "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C"], "initdb")
            self._start(lambda port: [os.path.join(bindir, "postgres"), "-D", data, "-p", str(port),
                                      "-k", self.socket_dir, "-h", "127.0.0.1", "-c", "fsync=off"])
            self.psql("postgres", "CREATE DATABASE mail")
            quoted = self.password.replace("'", "''")
            self.psql("mail", f"CREATE USER postfix PASSWORD '{quoted}'")
            return self
        except Exception:
            self.__exit__(None, None, None)
            raise

    def psql(self, database, sql):
        return self._run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", self.socket_dir, "-p", str(self.port),
                          "-U", "postgres", "-d", database, "-c", sql], "psql")

    def execute(self, sql):
        self.psql("mail", sql)
        self.psql("mail", "GRANT SELECT ON ALL TABLES IN SCHEMA public TO postfix")


class PrivateMariadb(_Server):
    user = "mysql"
    what = "MariaDB"

    def __enter__(self):
        if not shutil.which("mariadb-install-db") or not os.path.exists("/usr/sbin/mariadbd"):
            raise Unavailable("MariaDB's server is not installed (Debian's mariadb-server)")
        self._make_directory("postern-mariadb-")
        data = os.path.join(self.dir, "data")
        self.socket = os.path.join(self.dir, "mysqld.sock")
        try:
            user = ["--user=mysql"] if os.geteuid() == 0 else []
            self._run(["mariadb-install-db", "--no-defaults", f"--datadir={data}", "--skip-test-db",
                       "--auth-root-authentication-method=normal"] + user, "mariadb-install-db")
            self._start(lambda port: ["/usr/sbin/mariadbd", "--no-defaults", f"--datadir={data}",
                                      f"--socket={self.socket}", f"--port={port}", "--bind-address=127.0.0.1",
                                      f"--pid-file={self.dir}/mariadbd.pid", "--skip-log-bin",
                                      "--innodb-flush-log-at-trx-commit=0"])
            quoted = self.password.replace("'", "''")
            self.client("CREATE DATABASE mail; "
                        f"CREATE USER 'postfix'@'localhost' IDENTIFIED BY '{quoted}'; "
                        f"CREATE USER 'postfix'@'127.0.0.1' IDENTIFIED BY '{quoted}'; "
                        "GRANT SELECT ON mail.* TO 'postfix'@'localhost'; "
                        "GRANT SELECT ON mail.* TO 'postfix'@'127.0.0.1'")
            return self
        except Exception:
            self.__exit__(None, None, None)
            raise

    def client(self, sql, database=None):
        argv = ["mariadb", "--no-defaults", f"--socket={self.socket}", "-u", "root", "-e", sql]
        if database:
            argv.append(database)
        return self._run(argv, "mariadb")

    def execute(self, sql):
        self.client(sql, "mail")


class PrivateSlapd(_Server):
    """slapd serving `suffix` from an mdb database loaded with `ldif` (and
    the core, cosine, inetorgperson, nis and misc schemas), on a loopback
    port; the root DN binds with `password`, everyone may read."""
    user = "root"
    what = "slapd"
    suffix = "dc=example,dc=com"
    root_dn = "cn=admin,dc=example,dc=com"

    def __init__(self, ldif):
        super().__init__()
        self.ldif = ldif

    def __enter__(self):
        if not os.path.exists("/usr/sbin/slapd") or not os.path.exists("/usr/lib/ldap/back_mdb.so"):
            raise Unavailable("OpenLDAP's server is not installed (Debian's slapd)")
        self.dir = tempfile.mkdtemp(prefix="postern-slapd-")
        os.chmod(self.dir, 0o755)
        data = os.path.join(self.dir, "data")
        os.makedirs(data)
        config = os.path.join(self.dir, "slapd.conf")
        schemas = "".join(f"include /etc/ldap/schema/{name}.schema\n"
                          for name in ("core", "cosine", "inetorgperson", "nis", "misc"))
        quoted = self.password.replace("\\", "\\\\").replace('"', '\\"')
        open(config, "w").write(
            schemas + f"modulepath /usr/lib/ldap\nmoduleload back_mdb\npidfile {self.dir}/slapd.pid\n"
            f"database mdb\nsuffix \"{self.suffix}\"\nrootdn \"{self.root_dn}\"\nrootpw \"{quoted}\"\n"
            f"directory {data}\nmaxsize 10485760\naccess to * by * read\n")
        ldif = os.path.join(self.dir, "data.ldif")
        open(ldif, "w").write(self.ldif)
        try:
            r = subprocess.run(["slapadd", "-f", config, "-l", ldif], capture_output=True, text=True, timeout=60)
            if r.returncode != 0:
                raise Unavailable(f"slapadd failed: {r.stderr.strip()[-400:]}")
            self._start(lambda port: ["/usr/sbin/slapd", "-d", "0", "-f", config, "-h", f"ldap://127.0.0.1:{port}/"])
            return self
        except Exception:
            self.__exit__(None, None, None)
            raise
