// The 'plesk-ui-library' module of a Plesk page from before about October 2025, when Plesk's own SDK still mounted
// with ReactDOM's legacy `render`: the same module without createRoot and hydrateRoot (React 18's react-dom
// carries them in its main entry too, so both places are gone).
import current from './plesk-ui-library';

const renderOnly: Record<string, unknown> = { ...(current as Record<string, unknown>) };
delete renderOnly.createRoot;
delete renderOnly.hydrateRoot;

export default renderOnly;
