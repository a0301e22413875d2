//! Sending one email over SMTP with lettre (plain text and HTML alternatives). Addresses are
//! parsed as mailboxes and the subject is encoded by lettre, so a name or subject carrying
//! CR/LF cannot add a header.

use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{Message, SmtpTransport, Transport as _};

use crate::config::{MailConfig, MailTls};

pub struct Mailer {
    transport: SmtpTransport,
    from: Mailbox,
}

impl Mailer {
    pub fn new(cfg: &MailConfig) -> Result<Self, String> {
        let builder = match cfg.tls {
            MailTls::None => SmtpTransport::builder_dangerous(&cfg.host),
            MailTls::StartTls => {
                SmtpTransport::starttls_relay(&cfg.host).map_err(|e| e.to_string())?
            }
            MailTls::Tls => SmtpTransport::relay(&cfg.host).map_err(|e| e.to_string())?,
        };
        let mut builder = builder
            .port(cfg.port)
            .timeout(Some(Duration::from_secs(15)));
        if let (Some(user), Some(pass)) = (&cfg.username, &cfg.password) {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                String::from_utf8_lossy(pass.expose()).into_owned(),
            ));
        }
        let from: Mailbox = cfg
            .from
            .parse()
            .map_err(|e| format!("PORTALOPS_MAIL_FROM is not an address: {e}"))?;
        Ok(Self {
            transport: builder.build(),
            from,
        })
    }

    pub fn send(&self, to: &str, subject: &str, text: &str, html: &str) -> Result<(), String> {
        let to: Mailbox = to.parse().map_err(|e| format!("bad recipient: {e}"))?;
        let subject: String = subject
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .multipart(MultiPart::alternative_plain_html(
                text.to_string(),
                html.to_string(),
            ))
            .map_err(|e| e.to_string())?;
        self.transport
            .send(&message)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}
