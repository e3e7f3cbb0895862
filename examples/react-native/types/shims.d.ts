// The parts of react-native, expo and @react-native-async-storage/async-storage this
// example uses, as their own declarations give them: those packages (and their native
// toolchains) are too large to install for a type check here. Everything the example
// does with @userdb/client is checked against the package's real declarations.

declare module "react-native-get-random-values" {}

declare module "expo" {
  import type { ComponentType } from "react";
  export function registerRootComponent(component: ComponentType<any>): void;
}

declare module "@react-native-async-storage/async-storage" {
  // @react-native-async-storage/async-storage's AsyncStorageStatic (the methods used by
  // @userdb/client; the real object has more).
  const AsyncStorage: {
    getItem(key: string, callback?: (error?: Error | null, result?: string | null) => void): Promise<string | null>;
    setItem(key: string, value: string, callback?: (error?: Error | null) => void): Promise<void>;
    removeItem(key: string, callback?: (error?: Error | null) => void): Promise<void>;
    clear(callback?: (error?: Error | null) => void): Promise<void>;
    getAllKeys(callback?: (error?: Error | null, keys?: readonly string[]) => void): Promise<readonly string[]>;
  };
  export default AsyncStorage;
}

declare module "react-native" {
  import type { ComponentType, ReactElement, ReactNode } from "react";
  type Style = Record<string, unknown> | undefined;
  export const View: ComponentType<{ style?: Style; children?: ReactNode }>;
  export const SafeAreaView: ComponentType<{ style?: Style; children?: ReactNode }>;
  export const Text: ComponentType<{ style?: Style; children?: ReactNode }>;
  export const Button: ComponentType<{ title: string; onPress: () => void; disabled?: boolean }>;
  export const Switch: ComponentType<{ value: boolean; onValueChange: (value: boolean) => void }>;
  export const TextInput: ComponentType<{
    value?: string;
    placeholder?: string;
    onChangeText?: (text: string) => void;
    onSubmitEditing?: () => void;
    secureTextEntry?: boolean;
    autoCapitalize?: "none" | "sentences" | "words" | "characters";
    keyboardType?: "default" | "email-address" | "numeric";
    style?: Style;
  }>;
  export function FlatList<T>(props: {
    data: readonly T[];
    keyExtractor: (item: T, index: number) => string;
    renderItem: (info: { item: T; index: number }) => ReactElement | null;
  }): ReactElement | null;
  export const StyleSheet: { create<T extends Record<string, Record<string, unknown>>>(styles: T): T };
  export const Alert: { alert(title: string, message?: string): void };
}
