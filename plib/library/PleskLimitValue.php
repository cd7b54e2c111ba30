<?php
/**
 * Plesk's outgoing limit values ↔ the bridge's. Plesk's schema types the server defaults as int and the plan,
 * subscription, domain and mailbox values as string; which strings mean what is not spelled out in the
 * reference (assumed, see plib/README.md): a whole number, -1 or "unlimited" for no limit, "default" (or the
 * element left out) for "inherit from the level above".
 */
class Modules_OutgoingMailLimits_PleskLimitValue
{
    const UNLIMITED = '-1';
    const INHERIT = 'default';
    /** The bridge's highest limit (backend-bridge/src/core/limits.ts MAX_LIMIT). */
    const MAX = 1000000000;

    /**
     * A number or "unlimited"; null when the value inherits (an object's or plan's "default") or Plesk gave
     * nothing usable (a server default the bridge then keeps).
     */
    public static function fromPlesk($raw)
    {
        return self::parse($raw);
    }

    /** The bridge's value as Plesk writes it: -1 for unlimited, "default" for none of its own. */
    public static function toPlesk($value)
    {
        if ($value === null || $value === 'default') {
            return self::INHERIT;
        }
        return $value === 'unlimited' ? self::UNLIMITED : (string) (int) $value;
    }

    /**
     * Whether Plesk's $raw and the bridge's $value say the same: an unchanged imported value goes back exactly
     * as Plesk wrote it ("unlimited" stays "unlimited", not -1).
     */
    public static function same($raw, $value)
    {
        return self::parse($raw) === ($value === 'default' ? null : $value);
    }

    /**
     * Whether $raw is one of the values above (a whole number up to the bridge's highest, -1, "unlimited",
     * "default", or nothing); anything else is never taken as "inherit".
     */
    public static function understood($raw)
    {
        $raw = strtolower(trim((string) $raw));
        return in_array($raw, ['', '-1', 'unlimited', self::INHERIT], true) || (preg_match('/^\d{1,10}$/', $raw) && (int) $raw <= self::MAX);
    }

    private static function parse($raw)
    {
        $raw = strtolower(trim((string) $raw));
        if ($raw === '-1' || $raw === 'unlimited') {
            return 'unlimited';
        }
        return preg_match('/^\d{1,10}$/', $raw) && (int) $raw <= self::MAX ? (int) $raw : null;
    }
}
