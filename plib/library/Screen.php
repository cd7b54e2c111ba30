<?php
/**
 * What a screen action prints: the mount element and the RequireJS call that loads the frontend's AMD bundle
 * (htdocs/dist/main.js) and calls its default export with the props of frontend/README.md ("Inside Plesk").
 */
class Modules_OutgoingMailLimits_Screen
{
    const MOUNT_ID = 'outgoing-mail-limits';
    const SCREENS = ['settings', 'overview', 'subscriptions', 'subscription', 'domain', 'held', 'history'];
    /** Tools & Settings, where the settings button is: where OK and Cancel of the settings screen lead. */
    const TOOLS_AND_SETTINGS_URL = '/admin/server/tools';

    /**
     * @param string $screen one of SCREENS
     * @param string|null $name the subscription or domain of the 'subscription' and 'domain' screens; for
     *   'held' and 'history', optionally the mailbox, domain or subscription whose held mail or changes are shown
     * @param string|null $returnUrl where OK and Cancel of the settings screen lead
     */
    public static function html($screen, $name = null, $returnUrl = null)
    {
        if (!in_array($screen, self::SCREENS, true)) {
            throw new InvalidArgumentException("Unknown screen \"{$screen}\".");
        }
        $base = rtrim(pm_Context::getBaseUrl(), '/') . '/';
        $context = [
            // Every API call goes to ApiController::callAction with the path below /api/v1 URL-encoded in "path".
            'apiBase' => $base . 'index.php/api/call?path=',
            'forgeryToken' => Modules_OutgoingMailLimits_ForgeryToken::current(),
        ];
        if ($name !== null) {
            $context['name'] = $name;
        }
        if ($returnUrl !== null) {
            $context['returnUrl'] = $returnUrl;
        }
        $props = [
            'moduleId' => self::MOUNT_ID,
            'baseUrl' => $base,
            'locale' => self::locale(),
            'screen' => $screen,
            'context' => $context,
        ];
        // JSON_HEX_* keep "</script>" and quotes in names from ending the script element early.
        $json = json_encode($props, JSON_HEX_TAG | JSON_HEX_AMP | JSON_HEX_APOS | JSON_HEX_QUOT | JSON_UNESCAPED_SLASHES | JSON_THROW_ON_ERROR);
        $bundle = json_encode($base . 'dist/main.js', JSON_HEX_TAG | JSON_UNESCAPED_SLASHES);
        $translation = self::translationModule($props['locale']);
        if ($translation === null) {
            return '<div id="' . self::MOUNT_ID . '"></div>' . "\n"
                . '<script>require([' . $bundle . '], function (bundle) { bundle.default(' . $json . '); });</script>' . "\n";
        }
        // The person's translation loads beside the module; should it fail to load, the screens still come, in English.
        $messages = json_encode($base . $translation, JSON_HEX_TAG | JSON_UNESCAPED_SLASHES);
        return '<div id="' . self::MOUNT_ID . '"></div>' . "\n"
            . '<script>(function (props) {'
            . ' require([' . $bundle . ', ' . $messages . '], function (bundle, messages) { props.messages = messages; bundle.default(props); },'
            . ' function () { require([' . $bundle . '], function (bundle) { bundle.default(props); }); });'
            . ' })(' . $json . ');</script>' . "\n";
    }

    /**
     * The translation module the frontend build wrote for this locale (dist/locales/de-DE.js), or for another
     * locale of its language (de-AT finds de-DE); null for en-US, which main.js carries, and for locales not shipped.
     */
    private static function translationModule($locale)
    {
        $directory = rtrim(pm_Context::getHtdocsDir(), '/') . '/dist/locales/';
        $wanted = strtolower(str_replace('_', '-', (string) $locale));
        $shipped = [];
        foreach (glob($directory . '*.js') ?: [] as $file) {
            $shipped[] = basename($file, '.js');
        }
        foreach ($shipped as $code) {
            if (strtolower($code) === $wanted) {
                return 'dist/locales/' . $code . '.js';
            }
        }
        $language = explode('-', $wanted)[0];
        foreach ($shipped as $code) {
            if (explode('-', strtolower($code))[0] === $language) {
                return 'dist/locales/' . $code . '.js';
            }
        }
        return null;
    }

    private static function locale()
    {
        $locale = class_exists('pm_Locale') && method_exists('pm_Locale', 'getCode') ? pm_Locale::getCode() : 'en-US';
        return $locale ?: 'en-US';
    }
}
