package dev.adit.handler;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import dev.adit.testing.Payloads;
import dev.adit.testing.TcpTarget;
import dev.adit.testing.Transport;
import dev.adit.testing.Tunnel;
import dev.adit.testing.TunnelClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A tunnel's socket to an IPv4 target is an IPv4 socket, not the JDK's default dual-stack IPv6
 * one (which costs a system call more per tunnel); IPv6 targets are still reached. Linux lists
 * IPv4 sockets in {@code /proc/net/tcp} and IPv6 ones, mapped IPv4 addresses included, in
 * {@code /proc/net/tcp6}.
 */
class UpstreamSocketFamilyTest
{
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    @RegisterExtension
    final AditFixtures started = new AditFixtures();

    @Test
    void theSocketToAnIpv4TargetIsAnIpv4Socket() throws Exception
    {
        assumeTrue(Files.isReadable(Path.of("/proc/net/tcp")), "Linux's socket tables");
        CompletableFuture<Integer> upstreamPort = new CompletableFuture<>();
        TcpTarget target = started.add(new TcpTarget(peer ->
        {
            upstreamPort.complete(peer.socket().getPort());
            TcpTarget.echo().serve(peer);
        }));
        AditFixture adit = started.adit(Map.of());
        TunnelClient client = started.add(TunnelClient.connect(Transport.HTTP1, adit.address(Transport.HTTP1)));
        Tunnel tunnel = started.add(client.open(target.authority(), TIMEOUT));
        assertThat(tunnel.status()).isEqualTo(200);
        echoes(tunnel);

        int port = upstreamPort.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        // Linux walks its socket tables without a snapshot: while other sockets come and go, a
        // read may list one socket several times, or miss it. Read until it shows, bounded.
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        Set<String> ipv4 = sockets("/proc/net/tcp", port, target.port());
        while (ipv4.isEmpty() && System.nanoTime() - deadline < 0)
        {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
            ipv4 = sockets("/proc/net/tcp", port, target.port());
        }
        assertThat(ipv4).as("Adit's socket from port %d in the IPv4 table (inodes)", port).hasSize(1);
        assertThat(sockets("/proc/net/tcp6", port, target.port())).as("nor in the IPv6 table").isEmpty();
        tunnel.close();
    }

    @Test
    void anIpv6TargetIsStillReached() throws Exception
    {
        InetAddress loopback6 = InetAddress.getByName("::1");
        ServerSocket server;
        try
        {
            server = new ServerSocket(0, 50, loopback6);
        }
        catch (IOException x)
        {
            assumeTrue(false, "no IPv6 loopback here: " + x);
            return;
        }
        started.add(server::close);
        CompletableFuture<InetAddress> seen = new CompletableFuture<>();
        Thread echo = new Thread(() ->
        {
            try (Socket socket = server.accept(); InputStream in = socket.getInputStream(); OutputStream out = socket.getOutputStream())
            {
                seen.complete(((InetSocketAddress)socket.getRemoteSocketAddress()).getAddress());
                in.transferTo(out);
            }
            catch (IOException x)
            {
                seen.completeExceptionally(x);
            }
        }, "ipv6-echo");
        echo.setDaemon(true);
        echo.start();

        AditFixture adit = started.adit(Map.of());
        TunnelClient client = started.add(TunnelClient.connect(Transport.HTTP1, adit.address(Transport.HTTP1)));
        Tunnel tunnel = started.add(client.open("[::1]:" + server.getLocalPort(), TIMEOUT));
        assertThat(tunnel.status()).isEqualTo(200);
        echoes(tunnel);
        assertThat(seen.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS)).isInstanceOf(Inet6Address.class);
        tunnel.close();
    }

    private static void echoes(Tunnel tunnel) throws Exception
    {
        byte[] payload = Payloads.random(4096, Payloads.seed());
        tunnel.write(payload);
        assertThat(Payloads.sha256(tunnel.readExactly(payload.length, TIMEOUT))).isEqualTo(Payloads.sha256(payload));
    }

    /** @return the inodes of the sockets from local port {@code local} to remote port {@code remote} in a Linux socket table */
    private static Set<String> sockets(String table, int local, int remote) throws IOException
    {
        String from = String.format(Locale.ROOT, ":%04X", local);
        String to = String.format(Locale.ROOT, ":%04X", remote);
        Set<String> inodes = new TreeSet<>();
        for (String line : Files.readAllLines(Path.of(table)))
        {
            // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
            String[] fields = line.trim().split("\\s+");
            if (fields.length > 9 && fields[1].endsWith(from) && fields[2].endsWith(to))
                inodes.add(fields[9]);
        }
        return inodes;
    }
}
