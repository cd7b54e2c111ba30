<?php
use PHPUnit\Framework\TestCase;

final class LocalesTest extends TestCase
{
    private $htdocs;

    protected function setUp(): void
    {
        PleskWorld::reset();
        // The translation modules as the frontend build writes them (dist/locales/<locale>.js).
        $this->htdocs = sys_get_temp_dir() . '/oml-htdocs-' . bin2hex(random_bytes(4));
        mkdir($this->htdocs . '/dist/locales', 0755, true);
        file_put_contents($this->htdocs . '/dist/locales/de-DE.js', 'define({});');
        file_put_contents($this->htdocs . '/dist/locales/ru-RU.js', 'define({});');
        pm_Context::$htdocsDir = $this->htdocs;
    }

    protected function tearDown(): void
    {
        pm_Context::$htdocsDir = null;
        array_map('unlink', glob($this->htdocs . '/dist/locales/*.js'));
        rmdir($this->htdocs . '/dist/locales');
        rmdir($this->htdocs . '/dist');
        rmdir($this->htdocs);
    }

    /** @return array<string, string> the messages of one locale file */
    private static function messagesOf($locale)
    {
        $messages = null;
        include dirname(__DIR__) . '/plib/resources/locales/' . $locale . '.php';
        return $messages;
    }

    private static function placeholders($text)
    {
        preg_match_all('/%%(\w+)%%/', $text, $found);
        $names = $found[1];
        sort($names);
        return implode(',', $names);
    }

    public function localeProvider()
    {
        return [['de-DE'], ['ru-RU']];
    }

    /** @dataProvider localeProvider */
    public function testEveryLocaleHasEveryKeyOfEnUsAndNoOtherWithTheSamePlaceholders($locale): void
    {
        $english = self::messagesOf('en-US');
        $translated = self::messagesOf($locale);
        $this->assertIsArray($translated, "{$locale}.php defines no \$messages");
        $this->assertSame([], array_values(array_diff(array_keys($english), array_keys($translated))), "keys missing in {$locale}.php");
        $this->assertSame([], array_values(array_diff(array_keys($translated), array_keys($english))), "keys in {$locale}.php that en-US.php lacks");
        foreach ($english as $key => $text) {
            $this->assertNotSame('', trim($translated[$key]), "{$locale}.php: {$key} is empty");
            $this->assertSame(self::placeholders($text), self::placeholders($translated[$key]), "{$locale}.php: placeholders of {$key}");
        }
    }

    public function testPlesksButtonsAndTheScreenPropsFollowPlesksLocale(): void
    {
        PleskWorld::resync();
        pm_Locale::$code = 'de-DE';
        $buttons = (new Modules_OutgoingMailLimits_CustomButtons())->getButtons();
        $this->assertSame('Ausgehende Nachrichten begrenzen', $buttons[3]['title']);
        $this->assertSame('de-DE', json_decode(self::propsJson(Modules_OutgoingMailLimits_Screen::html('overview')), true)['locale']);

        pm_Locale::$code = 'ru-RU';
        $buttons = (new Modules_OutgoingMailLimits_CustomButtons())->getButtons();
        $this->assertSame('Ограничить исходящие сообщения', $buttons[3]['title']);
        $this->assertSame('ru-RU', json_decode(self::propsJson(Modules_OutgoingMailLimits_Screen::html('overview')), true)['locale']);
    }

    public function testAPlesksPageLoadsOnlyThePersonsTranslationBesideTheModule(): void
    {
        $modules = function ($html) {
            preg_match('#require\(\[([^\]]*)\]#', $html, $match);
            return $match[1];
        };
        pm_Locale::$code = 'de-DE';
        $this->assertSame('"/modules/outgoing-mail-limits/dist/main.js", "/modules/outgoing-mail-limits/dist/locales/de-DE.js"', $modules(Modules_OutgoingMailLimits_Screen::html('overview')));
        // Another country of a shipped language takes that language's translation.
        pm_Locale::$code = 'de-AT';
        $this->assertStringContainsString('dist/locales/de-DE.js', $modules(Modules_OutgoingMailLimits_Screen::html('overview')));
        // en-US is in main.js; a language not shipped gets English: main.js alone.
        foreach (['en-US', 'fr-FR'] as $code) {
            pm_Locale::$code = $code;
            $this->assertSame('"/modules/outgoing-mail-limits/dist/main.js"', $modules(Modules_OutgoingMailLimits_Screen::html('overview')), $code);
        }
        // Should the translation not load, the screens still mount, in English.
        pm_Locale::$code = 'ru-RU';
        $html = Modules_OutgoingMailLimits_Screen::html('overview');
        $this->assertStringContainsString('function () { require(["/modules/outgoing-mail-limits/dist/main.js"], function (bundle) { bundle.default(props); }); }', $html);
    }

    private static function propsJson($html)
    {
        if (preg_match('#\}\)\((\{.*\})\);</script>#', $html, $match)) {
            return $match[1];
        }
        preg_match('#bundle\.default\((.*)\); \}\);</script>#', $html, $match);
        return $match[1];
    }
}
