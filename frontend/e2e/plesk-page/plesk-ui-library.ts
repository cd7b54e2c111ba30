// What a Plesk page provides as the RequireJS module 'plesk-ui-library': React 18, ReactDOM (with
// react-dom/client) and @plesk/ui-library 3.46.5 in one module. The Plesk build of the frontend resolves
// 'react', 'react-dom', 'react-dom/client' and '@plesk/ui-library' all to it and uses their named exports, so the
// module is one object with all of them (React and ReactDOM are CommonJS: `export *` would not carry their names).
import * as UiLibrary from '@plesk/ui-library';
import * as React from 'react';
import * as ReactDom from 'react-dom';
import * as ReactDomClient from 'react-dom/client';

export default Object.assign({}, React, ReactDom, ReactDomClient, UiLibrary);
