package io.github.hangup.support;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.List;

/**
 * A loopback listener that never accepts and whose accept queue is full, so that the
 * kernel drops new SYNs and connection attempts time out.
 */
public final class FullBacklog implements AutoCloseable {

	private final ServerSocket server;

	private final List<Socket> queued = new ArrayList<>();

	public FullBacklog() throws IOException {
		this.server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
		InetSocketAddress address = new InetSocketAddress(InetAddress.getLoopbackAddress(), port());
		for (int i = 0; i < 16; i++) {
			Socket socket = new Socket();
			try {
				socket.connect(address, 200);
				this.queued.add(socket);
			}
			catch (SocketTimeoutException ex) {
				socket.close();
				return;
			}
		}
		close();
		throw new IllegalStateException("The accept queue of port " + port() + " never filled up");
	}

	public int port() {
		return this.server.getLocalPort();
	}

	@Override
	public void close() throws IOException {
		for (Socket socket : this.queued) {
			socket.close();
		}
		this.server.close();
	}

}
