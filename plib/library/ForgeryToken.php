<?php
/**
 * The extension's own forgery-protection token, kept in the panel session. IndexController hands it to the
 * screens (prop forgeryToken); ApiController refuses every write whose X-OML-Forgery-Token header does not
 * equal it. Plesk's own token (the forgery_protection_token meta tag, sent as X-Forgery-Protection-Token)
 * is checked by Plesk; Plesk offers extensions no way to read it, hence a token of our own.
 */
class Modules_OutgoingMailLimits_ForgeryToken
{
    const SESSION_KEY = 'outgoing-mail-limits.forgery-token';
    const HEADER = 'X-OML-Forgery-Token';

    /** The session's token, created on first use. */
    public static function current()
    {
        if (session_status() !== PHP_SESSION_ACTIVE) {
            throw new RuntimeException('No panel session: the forgery-protection token needs one.');
        }
        if (empty($_SESSION[self::SESSION_KEY]) || !is_string($_SESSION[self::SESSION_KEY])) {
            $_SESSION[self::SESSION_KEY] = bin2hex(random_bytes(32));
        }
        return $_SESSION[self::SESSION_KEY];
    }

    /** True when the request carries this session's token (a session without a token accepts nothing). */
    public static function matches($sent)
    {
        if (session_status() !== PHP_SESSION_ACTIVE || empty($_SESSION[self::SESSION_KEY]) || !is_string($sent) || $sent === '') {
            return false;
        }
        return hash_equals($_SESSION[self::SESSION_KEY], $sent);
    }
}
