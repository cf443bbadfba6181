import { simpleParser, type ParsedMail } from 'mailparser';
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';

/**
 * A real SMTP server on 127.0.0.1 standing for the MSSanté operator's relay: it takes messages over the network like
 * the real one, refuses chosen recipients (550) or every message (554), can hold the end of DATA unanswered (a message in flight), and can
 * stop and come back on the same port (an outage). A message counts as accepted only once the relay answered 250
 * to a client that was still connected. Given an account, it asks for it (AUTH PLAIN/LOGIN) and refuses any other.
 */

export interface AcceptedMessage {
  to: string[];
  mail: ParsedMail;
  raw: Buffer;
}

export class SmtpRelay {
  readonly accepted: AcceptedMessage[] = [];
  /** Every DATA that arrived, answered or not, by Message-ID: what a crash may cut short. */
  readonly arrived: string[] = [];
  /** Recipients refused at RCPT TO with a 550. */
  readonly refused = new Set<string>();
  /** While set, every message is refused at MAIL FROM with a 554 saying this (a relay that will not relay for the node). */
  refusingAll: string | undefined;
  /** While true, the end of DATA waits for `release()`. */
  holding = false;
  private held: Array<() => void> = [];
  /** Sessions whose client has gone (a held message of theirs is not accepted). */
  readonly closedSessions = new Set<string>();
  private server: SMTPServer | undefined;
  port = 0;
  /** The logins tried, with their passwords (a test checks what the node sent). */
  readonly logins: Array<{ username: string; password: string }> = [];

  constructor(private readonly account?: { user: string; pass: string }) {}

  async start(): Promise<void> {
    const account = this.account;
    const server = new SMTPServer({
      secure: false,
      disabledCommands: account ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
      authOptional: !account,
      // Plain-text AUTH on 127.0.0.1 only: a test relay without a certificate.
      allowInsecureAuth: true,
      onAuth: (auth, _session, callback) => {
        this.logins.push({ username: auth.username ?? '', password: auth.password ?? '' });
        if (account && auth.username === account.user && auth.password === account.pass) return callback(null, { user: auth.username });
        const error = new Error('5.7.8 Authentication credentials invalid') as Error & { responseCode: number };
        error.responseCode = 535;
        callback(error);
      },
      logger: false,
      onMailFrom: (_address, _session, callback) => {
        if (this.refusingAll === undefined) return callback();
        const error = new Error(this.refusingAll) as Error & { responseCode: number };
        error.responseCode = 554;
        callback(error);
      },
      onRcptTo: (address, _session, callback) => {
        if (this.refused.has(address.address)) {
          const error = new Error(`<${address.address}>: Recipient address rejected: unknown mailbox`) as Error & { responseCode: number };
          error.responseCode = 550;
          return callback(error);
        }
        callback();
      },
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks);
          // A mail the relay cannot parse fails the test run: vitest reports the unhandled rejection.
          void simpleParser(raw).then((mail) => {
            this.arrived.push(mail.messageId ?? '');
            const accept = () => {
              if (this.closedSessions.has(session.id)) return;
              this.accepted.push({ to: session.envelope.rcptTo.map((rcpt) => rcpt.address), mail, raw });
              callback();
            };
            if (this.holding) this.held.push(accept);
            else accept();
          });
        });
      },
      onClose: (session: SMTPServerSession) => {
        this.closedSessions.add(session.id);
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Answers the held messages (those whose client is gone are not accepted). */
  release(): void {
    this.holding = false;
    const held = this.held;
    this.held = [];
    for (const accept of held) accept();
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    this.release();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  to(address: string): AcceptedMessage[] {
    return this.accepted.filter((message) => message.to.includes(address));
  }
}
